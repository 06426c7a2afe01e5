"""Interactive Jupyter widgets. The only part of xaikit that imports ipywidgets."""
