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
#: CSS class of every panel's root box (besides its own, e.g. ``xaikit-clip-explorer``).
PANEL_CLASS = "xaikit-panel"
#: CSS class of a panel's main pictures (``W.Image``); the browser tests find them by it.
PICTURE_CLASS = "xaikit-picture"


def close_widget(widget: W.Widget) -> None:
    """Close a widget and its ``layout`` and ``style`` models (widgets of their own, which
    ``Widget.close`` leaves alive in ipywidgets' registry)."""
    parts = [getattr(widget, name, None) for name in ("layout", "style")]
    widget.close()
    for part in parts:
        if isinstance(part, W.Widget):
            part.close()


def guarded(handler=None, *, slot: str = "panel"):
    """Run a widget callback so that an exception shows inside the widget, not only in the log.

    JupyterLab sends what a callback prints or raises to its log console, where users miss it;
    the wrapped handler writes the error into the widget's error line ``slot`` (the panel's
    bottom line, or a label beside the control that drives the handler, see
    :meth:`Panel._error_label`) and logs it with its traceback. The next success of a handler of
    the same slot clears it; handlers of other slots leave it standing. Use as ``@guarded`` or
    ``@guarded(slot="map")``.
    """
    if handler is None:
        return functools.partial(guarded, slot=slot)

    @functools.wraps(handler)
    def wrapper(self, *args, **kwargs):
        if self._guard_depth:  # called from another guarded handler: the outer one reports
            return handler(self, *args, **kwargs)
        self._guard_depth += 1
        try:
            result = handler(self, *args, **kwargs)
        except Exception as error:  # noqa: BLE001 - shown to the user, then logged
            logger.exception("%s failed", type(self).__name__)
            self._show_error(error, slot)
            return None
        finally:
            self._guard_depth -= 1
        self._clear_error(slot)
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
        self._errors: dict[str, str] = {}
        self._error_labels: dict[str, W.HTML] = {}
        self._guard_depth = 0
        self.error = self._error_label("panel")

    def _own(self, widget):
        self._owned.append(widget)
        return widget

    def _error_label(self, slot: str, **layout) -> W.HTML:
        """The hidden error line of ``slot`` (CSS class ``xaikit-error``), made on first use;
        place it beside the controls whose handlers report to ``slot``."""
        if slot not in self._error_labels:
            label = self._own(W.HTML(layout=W.Layout(display="none", **layout)))
            label.add_class(ERROR_CLASS)
            self._error_labels[slot] = label
        return self._error_labels[slot]

    def _show_error(self, error: BaseException, slot: str = "panel") -> None:
        text = f"{type(error).__name__}: {error}"
        self._errors[slot] = text
        label = self._error_label(slot)
        if slot == "panel":
            style = "color:#b00020;white-space:pre-wrap;margin:0"
            label.value = f"<pre style='{style}'>{html.escape(text)}</pre>"
        else:
            style = "color:#b00020;font-size:12px;line-height:1.3;white-space:pre-wrap"
            label.value = f"<span style='{style}'>{html.escape(text)}</span>"
        label.layout.display = None

    def _clear_error(self, slot: str = "panel") -> None:
        if self._errors.pop(slot, None) is not None:
            label = self._error_labels[slot]
            label.value = ""
            label.layout.display = "none"

    @property
    def error_message(self) -> str:
        """The errors shown in the panel as plain text (one line per error line), or ``""``."""
        return "\n".join(self._errors.values())

    def error_in(self, slot: str) -> str:
        """The error shown in error line ``slot`` as plain text, or ``""``."""
        return self._errors.get(slot, "")

    def _root(self, children, name: str) -> W.VBox:
        """The panel's root box of ``children``, with the classes ``xaikit-panel`` and ``name``
        (e.g. ``"xaikit-clip-explorer"``) that styles and browser tests select."""
        box = self._own(W.VBox(list(children)))
        box.add_class(PANEL_CLASS)
        box.add_class(name)
        return box

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
