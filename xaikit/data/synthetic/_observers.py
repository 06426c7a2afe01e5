"""Synthetic eye-tracking sessions: fixations drawn towards objects, with a centre bias."""

from __future__ import annotations

import numpy as np
import pandas as pd

from xaikit._arrays import height_width


def observers(
    annotations,
    subjects: int = 15,
    *,
    viewing_ms: float = 5000,
    object_bias: float = 0.75,
    centre_spread: float = 0.2,
    screen: tuple[int, int] | None = None,
    scale: float | None = None,
    seed: int = 0,
) -> pd.DataFrame:
    """Simulate ``subjects`` people viewing every image of ``annotations`` for ``viewing_ms``.

    Each viewing starts with a fixation near the image centre (the drift-correction dot).
    Each later fixation lands, with probability ``object_bias``, on an object (chosen with
    probability proportional to the square root of its box area; position normal around the
    box centre with a quarter of the box size as spread, kept inside the box), and otherwise
    anywhere with a centre bias (normal around the centre with ``centre_spread`` times the
    image size as spread, kept inside the image). Durations follow a gamma distribution with
    mean 250 ms and a 80 ms floor, saccades take 30 ms, and only fixations that end within
    the viewing time are kept (as in the humans-vs-CNN paper).

    Args:
        annotations: :class:`~xaikit.data.annotations.Annotations` (or anything with an
            ``annotations`` attribute holding one, such as a ``ShapeSet``).
        subjects: Number of simulated people (>= 1); they are named ``s01``, ``s02``, ...
        viewing_ms: Display time per image in ms (> 0).
        object_bias: Probability that a fixation targets an object, in [0, 1].
        centre_spread: Spread of the centre bias as a fraction of the image size (> 0).
        screen: ``(height, width)`` of a screen: coordinates are then given on the screen,
            with the image scaled by ``scale`` (default: the largest that fits) and centred,
            the inverse of :func:`xaikit.data.fixations.display_to_image`.
        scale: Display scale; only with ``screen``.
        seed: Random seed.

    Returns:
        DataFrame with columns ``x``, ``y`` (image pixels, or screen pixels with ``screen``),
        ``duration`` (ms), ``start`` (ms after image onset), ``subject``, ``image`` and
        ``target`` (label of the object aimed at, or ``None`` for centre-bias fixations).

    Raises:
        ValueError: a parameter is out of range, or ``annotations`` holds no image.

    Examples:
        >>> from xaikit.data.synthetic import shapes
        >>> table = observers(shapes(2, (64, 64), seed=0), subjects=3, seed=0)
        >>> sorted(table["subject"].unique()), bool((table["duration"] >= 80).all())
        (['s01', 's02', 's03'], True)
    """
    from xaikit.data.annotations import Annotations

    annotations = getattr(annotations, "annotations", annotations)
    if not isinstance(annotations, Annotations):
        raise TypeError(f"annotations must be an Annotations value; got {type(annotations)}")
    if annotations.images.empty:
        raise ValueError("annotations hold no image to view")
    if not isinstance(subjects, (int, np.integer)) or subjects < 1:
        raise ValueError(f"subjects must be an int >= 1; got {subjects!r}")
    if not viewing_ms > 0 or not centre_spread > 0 or not 0 <= object_bias <= 1:
        raise ValueError(
            "need viewing_ms > 0, centre_spread > 0 and 0 <= object_bias <= 1; got "
            f"{viewing_ms!r}, {centre_spread!r}, {object_bias!r}"
        )
    if scale is not None and screen is None:
        raise ValueError("scale is only used together with screen")
    if screen is not None:
        screen = height_width(screen, "screen", image=False)
    rng = np.random.default_rng(seed)
    scenes = [
        (image, width, height, *_targets(annotations.boxes_of(image)))
        for image, width, height in annotations.images.itertuples(index=False)
    ]
    rows = []
    for subject in range(subjects):
        for image, width, height, corners, cumulative, labels in scenes:
            rows += _view(
                rng,
                corners,
                cumulative,
                labels,
                width,
                height,
                viewing_ms,
                object_bias,
                centre_spread,
                f"s{subject + 1:02d}",
                image,
            )
    table = pd.DataFrame(
        rows, columns=["x", "y", "duration", "start", "subject", "image", "target"]
    )
    if screen is not None:
        table = _to_screen(table, annotations, screen, scale)
    return table


def _targets(boxes):
    """Box corners, cumulative choice probabilities (sqrt of area) and labels of one image."""
    corners = boxes[["x0", "y0", "x1", "y1"]].to_numpy(float)
    weights = np.sqrt((corners[:, 2] - corners[:, 0]) * (corners[:, 3] - corners[:, 1]))
    cumulative = np.cumsum(weights) / weights.sum() if len(weights) else weights
    return corners, cumulative, boxes["label"].tolist()


def _view(
    rng, corners, cumulative, labels, width, height, viewing_ms, object_bias, spread, subject, image
):
    rows, clock, first = [], 0.0, True
    while True:
        duration = max(80.0, float(rng.gamma(4.0, 62.5)))
        if clock + duration > viewing_ms:
            return rows
        target = None
        if first:
            x, y = rng.normal((width / 2, height / 2), 0.02 * min(width, height))
        elif len(corners) and rng.random() < object_bias:
            pick = min(
                int(np.searchsorted(cumulative, rng.random(), side="right")), len(labels) - 1
            )
            x0, y0, x1, y1 = corners[pick]
            x, y = rng.normal(((x0 + x1) / 2, (y0 + y1) / 2), ((x1 - x0) / 4, (y1 - y0) / 4))
            x = min(max(x, x0), np.nextafter(x1, x0))
            y = min(max(y, y0), np.nextafter(y1, y0))
            target = labels[pick]
        else:
            x, y = rng.normal((width / 2, height / 2), (spread * width, spread * height))
        x = float(min(max(x, 0.0), np.nextafter(width, 0)))
        y = float(min(max(y, 0.0), np.nextafter(height, 0)))
        rows.append((x, y, duration, clock, subject, image, target))
        clock += duration + 30.0
        first = False


def _to_screen(table, annotations, screen, scale):
    sizes = annotations.images.set_index("image")
    width = table["image"].map(sizes["width"]).to_numpy(float)
    height = table["image"].map(sizes["height"]).to_numpy(float)
    screen_height, screen_width = screen
    factor = np.minimum(screen_width / width, screen_height / height) if scale is None else scale
    table = table.copy()
    table["x"] = table["x"] * factor + (screen_width - factor * width) / 2
    table["y"] = table["y"] * factor + (screen_height - factor * height) / 2
    return table
