"""Interactive Jupyter widgets. The only part of xaikit that imports ipywidgets.

Every widget displays itself in a notebook, has ``.close()``, shows callback errors inside
itself and hands out its current picture as a matplotlib Figure (``.figure()``, ``.save()``).

* :class:`VideoExplorer`: scrub a video with boxes, trails and maps of a chosen method and layer.
* :class:`CompareGrid`: the method x layer grid of maps, each scored against a reference.
* :class:`FixationCompare`: human fixation map beside a CNN map, with per-image metrics.
* :class:`ClipExplorer`: frames of a clip with 3DCAM, Sum-3DCAM and the counterfactual map.
"""

from xaikit.widgets.clip_explorer import ClipExplorer
from xaikit.widgets.compare_grid import CompareGrid
from xaikit.widgets.fixation_compare import FixationCompare
from xaikit.widgets.video_explorer import VideoExplorer

__all__ = ["ClipExplorer", "CompareGrid", "FixationCompare", "VideoExplorer"]
