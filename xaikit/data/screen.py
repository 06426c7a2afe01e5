"""The display an experiment ran on: pixels per degree of visual angle, and where the image sat.

Eye-tracking results are in screen pixels; blur widths and fixation filters are in degrees of
visual angle (the MIT saliency benchmark blurs its fixation maps by one degree). A
:class:`Screen` turns one into the other from the screen's resolution, its physical width and
the viewing distance; :meth:`Screen.place` records where an image was shown on it (centred by
default, scaled or not) and maps fixations into the image's own pixels.

Convention: pixels per degree is the number of screen pixels the central degree spans, one
half degree either side of the line of sight through the screen centre::

    pixels_per_degree = width_px / width_cm * 2 * distance_cm * tan(0.5 deg)

(at 57 cm, 1 cm is about one degree). Towards the screen edges a degree spans a few percent
more pixels; like every saliency benchmark, xaikit uses the central value everywhere.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

import pandas as pd

from xaikit._arrays import height_width
from xaikit.data._fixation_table import _require_columns
from xaikit.data.errors import DataFileError
from xaikit.data.eyelink import read_messages

__all__ = ["Placement", "Screen"]


@dataclass(frozen=True)
class Screen:
    """A display: resolution in pixels, visible width in cm, and the viewer's distance in cm.

    Examples:
        A 1024 x 768 screen 40 cm wide seen from 57 cm:

        >>> screen = Screen(width_px=1024, height_px=768, width_cm=40.0, distance_cm=57.0)
        >>> round(screen.pixels_per_degree, 3)
        25.468
    """

    width_px: int
    height_px: int
    width_cm: float
    distance_cm: float

    def __post_init__(self):
        for name in ("width_px", "height_px", "width_cm", "distance_cm"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
                raise ValueError(f"{name} must be a positive number; got {value!r}")

    @property
    def shape(self) -> tuple[int, int]:
        """``(height, width)`` in pixels."""
        return (int(self.height_px), int(self.width_px))

    @property
    def pixels_per_degree(self) -> float:
        """Screen pixels spanned by the central degree of visual angle (see the module)."""
        centimetres = 2 * self.distance_cm * math.tan(math.radians(0.5))
        return self.width_px / self.width_cm * centimetres

    @classmethod
    def from_asc(cls, path: str | os.PathLike, *, width_cm: float, distance_cm: float) -> Screen:
        """The screen of an EyeLink recording: its resolution from ``DISPLAY_COORDS``.

        EyeLink writes ``DISPLAY_COORDS left top right bottom`` (inclusive pixel indices, so
        ``0 0 1919 1079`` is 1920 x 1080); ``GAZE_COORDS`` stands in when it is absent. Some
        software (OpenSesame) writes the size itself instead of the last index
        (``GAZE_COORDS 0.00 0.00 1024.00 768.00``): a span that is a multiple of 8 while
        span + 1 is not is taken as the size (display sides are multiples of 8). The physical
        width and the viewing distance are not in the file: give them.

        Raises:
            DataFileError: the file has neither message.
        """
        for text in read_messages(path, r"^(DISPLAY|GAZE)_COORDS\b")["text"]:
            values = text.split()[1:5]
            try:
                left, top, right, bottom = (float(value) for value in values)
            except ValueError:
                continue
            return cls(
                width_px=_side(right - left),
                height_px=_side(bottom - top),
                width_cm=width_cm,
                distance_cm=distance_cm,
            )
        raise DataFileError(
            path, "holds no DISPLAY_COORDS or GAZE_COORDS message: give Screen(...) by hand"
        )

    def place(
        self,
        image_shape,
        scale: float | None = 1.0,
        top_left: tuple[float, float] | None = None,
    ) -> Placement:
        """Where an image of ``image_shape`` = (height, width) was shown on this screen.

        Args:
            image_shape: ``(height, width)`` of the image file, or the image.
            scale: Display scale (2 = each image pixel shown as 2 x 2 screen pixels); ``None``
                picks the largest that fits the screen.
            top_left: ``(x, y)`` screen position of the image's top-left corner; ``None``
                centres it.

        Raises:
            ValueError: the shown image would reach beyond the screen.

        Examples:
            >>> screen = Screen(1920, 1080, 53.0, 60.0)
            >>> placement = screen.place((375, 500), scale=2)
            >>> placement.left, placement.top
            (460.0, 165.0)
        """
        height, width = height_width(image_shape, "image_shape")
        if scale is None:
            scale = min(self.width_px / width, self.height_px / height)
        if not isinstance(scale, (int, float)) or not math.isfinite(scale) or scale <= 0:
            raise ValueError(f"scale must be a positive number; got {scale!r}")
        if top_left is None:
            top_left = ((self.width_px - scale * width) / 2, (self.height_px - scale * height) / 2)
        left, top = (float(value) for value in top_left)
        right, bottom = left + scale * width, top + scale * height
        if left < 0 or top < 0 or right > self.width_px or bottom > self.height_px:
            raise ValueError(
                f"an image of (height, width) {(height, width)} shown at scale {scale:g} with its "
                f"top-left corner at (x, y) {(left, top)} covers x {left:g}..{right:g}, y "
                f"{top:g}..{bottom:g}: beyond the {self.width_px} x {self.height_px} screen. "
                "Check the scale, the position and the screen resolution."
            )
        return Placement(self, (height, width), float(scale), left, top)

    def place_imgload(self, message: str, image_shape) -> Placement:
        """The image of an EyeLink Data Viewer ``!V IMGLOAD`` message, as shown on this screen.

        The message is ``!V IMGLOAD FILL <file>`` (the image scaled to fill the screen),
        ``!V IMGLOAD TOP_LEFT <file> <x> <y> [<width> <height>]`` or ``!V IMGLOAD CENTER
        <file> <x> <y> [<width> <height>]`` (the corner or the centre at screen pixel
        ``(x, y)``; a width and height give the shown size, else the image's own).
        :func:`xaikit.data.eyelink.read_messages` finds them: ``read_messages(path,
        "IMGLOAD")``.

        Args:
            message: The message text (from ``!V``), as in the file.
            image_shape: ``(height, width)`` of the image file, or the image.

        Raises:
            ValueError: not an ``IMGLOAD`` message, a shown size of another aspect ratio than
                the image (a stretched image has no single scale), or an image beyond the
                screen.

        Examples:
            >>> screen = Screen(1024, 768, 40.0, 57.0)
            >>> message = "!V IMGLOAD CENTER dog.jpg 512 384 800 600"
            >>> placed = screen.place_imgload(message, (300, 400))
            >>> placed.scale, placed.left, placed.top
            (2.0, 112.0, 84.0)
        """
        height, width = height_width(image_shape, "image_shape")
        tokens = message.split()
        if len(tokens) < 4 or tokens[:2] != ["!V", "IMGLOAD"]:
            raise ValueError(f"not a '!V IMGLOAD <mode> <file> ...' message: {message!r}")
        mode, rest = tokens[2].upper(), tokens[3:]
        numbers = []
        while rest and len(numbers) < 4 and _is_number(rest[-1]):
            numbers.insert(0, float(rest.pop()))
        if mode == "FILL":
            size = (float(self.width_px), float(self.height_px))
            corner = (0.0, 0.0)
        elif mode in ("TOP_LEFT", "CENTER") and len(numbers) in (2, 4):
            size = tuple(numbers[2:]) if len(numbers) == 4 else (float(width), float(height))
            x, y = numbers[:2]
            corner = (x, y) if mode == "TOP_LEFT" else (x - size[0] / 2, y - size[1] / 2)
        else:
            raise ValueError(
                f"cannot read the placement of {message!r}: expected FILL <file>, or TOP_LEFT / "
                "CENTER <file> <x> <y> [<width> <height>]"
            )
        scale = size[0] / width
        if abs(size[1] / height - scale) > 0.01 * scale:
            raise ValueError(
                f"{message!r} shows the {width} x {height} image as {size[0]:g} x {size[1]:g}: "
                "stretched, so no single scale maps it back; resize the image to the shown "
                "aspect ratio first"
            )
        return self.place((height, width), scale=scale, top_left=corner)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _side(span: float) -> int:
    """Pixels of a side from ``last - first``: ``span + 1``, unless ``span`` is itself the size."""
    span = round(span)
    return span if span % 8 == 0 and (span + 1) % 8 != 0 else span + 1


@dataclass(frozen=True)
class Placement:
    """An image as shown on a :class:`Screen`: its shape, scale and top-left screen corner."""

    screen: Screen
    image_shape: tuple[int, int]
    scale: float
    left: float
    top: float

    @property
    def pixels_per_degree(self) -> float:
        """Image pixels per degree of visual angle (the screen's, divided by the scale)."""
        return self.screen.pixels_per_degree / self.scale

    def to_image(self, fixations: pd.DataFrame) -> pd.DataFrame:
        """A copy of ``fixations`` with ``x``, ``y`` moved from screen to image pixels.

        Screen point ``X`` maps to ``x = (X - left) / scale`` (likewise ``y``). Points off the
        image land outside ``[0, width) x [0, height)``; the maps drop them with a warning.

        Examples:
            >>> placement = Screen(1920, 1080, 53.0, 60.0).place((375, 500), scale=2)
            >>> gaze = pd.DataFrame({"x": [960.0], "y": [540.0], "duration": [200.0]})
            >>> placement.to_image(gaze)[["x", "y"]].values.tolist()
            [[250.0, 187.5]]
        """
        return screen_to_image(fixations, self.left, self.top, self.scale)


def screen_to_image(fixations: pd.DataFrame, left: float, top: float, scale: float):
    """``fixations`` with ``x = (x - left) / scale`` and ``y = (y - top) / scale`` (a copy)."""
    _require_columns(fixations, ("x", "y"))
    mapped = fixations.copy()
    mapped["x"] = (fixations["x"] - left) / scale
    mapped["y"] = (fixations["y"] - top) / scale
    return mapped
