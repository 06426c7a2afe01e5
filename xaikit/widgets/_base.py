"""What every xaikit widget shares: a root box, an error line inside it, closing and saving."""

from __future__ import annotations

import functools
import html
import logging
import os
from pathlib import Path

import ipywidgets as W

from xaikit.viz.encode import FIGURE_FORMATS

logger = logging.getLogger("xaikit.widgets")

ERROR_CLASS = "xaikit-error"


def close_widget(widget: W.Widget) -> None:
    """Close a widget and its ``layout`` and ``style`` models (widgets of their own, which
    ``Widget.close`` leaves alive in ipywidgets' registry)."""
    parts = [getattr(widget, name, None) for name in ("layout", "style")]
    widget.close()
    for part in parts:
        if isinstance(part, W.Widget):
            part.close()


def guarded(handler):
    """Run a widget callback so that an exception shows inside the widget, not only in the log.

    JupyterLab sends what a callback prints or raises to its log console, where users miss it;
    the wrapped handler writes the error into the widget's own error line (and clears it on the
    next success) and logs it with its traceback.
    """

    @functools.wraps(handler)
    def wrapper(self, *args, **kwargs):
        if self._guard_depth:  # called from another guarded handler: the outer one reports
            return handler(self, *args, **kwargs)
        self._guard_depth += 1
        try:
            result = handler(self, *args, **kwargs)
        except Exception as error:  # noqa: BLE001 - shown to the user, then logged
            logger.exception("%s failed", type(self).__name__)
            self._show_error(error)
            return None
        finally:
            self._guard_depth -= 1
        self._clear_error()
        return result

    return wrapper


class Panel:
    """Base class of the xaikit widgets.

    Subclasses create their ipywidgets through :meth:`_own` (so :meth:`close` frees them all),
    set :attr:`box` to the root widget, and implement :meth:`figure`.

    Attributes:
        box: the root ipywidget; displaying the panel displays it.
        error: ``HTML`` line at the bottom of the panel, hidden until a callback fails.
    """

    box: W.Box

    def __init__(self):
        self._owned: list[W.Widget] = []
        self._error_text = ""
        self._guard_depth = 0
        self.error = self._own(W.HTML(layout=W.Layout(display="none")))
        self.error.add_class(ERROR_CLASS)

    def _own(self, widget):
        self._owned.append(widget)
        return widget

    def _show_error(self, error: BaseException) -> None:
        self._error_text = f"{type(error).__name__}: {error}"
        message = html.escape(self._error_text)
        self.error.value = (
            f"<pre style='color:#b00020;white-space:pre-wrap;margin:0'>{message}</pre>"
        )
        self.error.layout.display = None

    def _clear_error(self) -> None:
        if self.error.value:
            self._error_text = ""
            self.error.value = ""
            self.error.layout.display = "none"

    @property
    def error_message(self) -> str:
        """The error shown in the panel as plain text, or ``""``."""
        return self._error_text

    def figure(self):
        """The current picture as a matplotlib Figure (``savefig`` to PNG, PDF or SVG)."""
        raise NotImplementedError

    def save(self, path: str | os.PathLike, dpi: int = 150) -> Path:
        """Save :meth:`figure` to ``path``; the suffix picks the format (png, pdf, svg, jpeg).

        Returns:
            The path written.
        """
        path = Path(path)
        format = path.suffix.lstrip(".").lower().replace("jpg", "jpeg")
        if format not in FIGURE_FORMATS:
            raise ValueError(f"unknown figure format {path.suffix!r}; use one of {FIGURE_FORMATS}")
        self.figure().savefig(path, format=format, dpi=dpi, bbox_inches="tight")
        return path

    def close(self) -> None:
        """Close every ipywidget of the panel, so the kernel frees their pictures.

        ipywidgets keeps each widget alive in a registry until it is closed; re-running a cell
        that builds a panel without closing the old one would keep all of its frames.
        """
        for widget in reversed(self._owned):
            close_widget(widget)
        self._owned.clear()

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return not self._owned

    def _repr_mimebundle_(self, **kwargs):
        return self.box._repr_mimebundle_(**kwargs)
