"""Detections and tracks against ground truth: the mice paper's Tables 2 to 4 (one run, or
its Full-versus-Tiny comparison), CLEAR MOT, and which ground-truth animal each track follows.

Only table plumbing lives here; the scores come from :mod:`xaikit.metrics.detection` and
:mod:`xaikit.metrics.tracking`.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from xaikit._runtime import device as resolve_device
from xaikit.data.source import open_frames
from xaikit.data.synthetic import MIN_VISIBLE
from xaikit.metrics import detection as detection_metrics
from xaikit.metrics._inputs import check_fraction
from xaikit.metrics.tracking import clear_mot
from xaikit.track._tables import BOX, check_table
from xaikit.track.detection import detect_video

__all__ = [
    "compare_detectors",
    "evaluate_detections",
    "evaluate_tracks",
    "match_identities",
    "paper_table",
    "relabel_tracks",
    "truth_rows",
]


def truth_rows(truth: pd.DataFrame, extra: tuple[str, ...] = ()) -> pd.DataFrame:
    """Ground truth as ``frame, track, x0, y0, x1, y1``, sorted by frame, then the ``extra``
    columns. The identity column is ``track``, as in every xaikit table (the truth of
    :func:`xaikit.data.synthetic.arena`, a track table, :func:`xaikit.data.annotations.read_coco`);
    identities given as names (SLEAP's track names) are numbered in order of appearance.

    Raises:
        TypeError: ``truth`` is not a DataFrame.
        ValueError: no ``track`` column (the message lists the columns found), a bad box, or
            no box at all.

    Examples:
        >>> import pandas as pd
        >>> truth = pd.DataFrame({"frame": [0], "track": [1], "x0": [0], "y0": [0], "x1": [4],
        ...                       "y1": [4], "visible": [1.0]})
        >>> truth_rows(truth).columns.tolist()
        ['frame', 'track', 'x0', 'y0', 'x1', 'y1']
        >>> truth_rows(truth.rename(columns={"track": "mouse"}))
        Traceback (most recent call last):
        ...
        ValueError: truth has no 'track' column (found: frame, mouse, x0, y0, x1, y1, visible); \
rename the identity column to 'track'
    """
    _check_identity(truth)
    if not pd.api.types.is_numeric_dtype(truth["track"]):  # names, e.g. SLEAP's "male"
        truth = truth.assign(track=pd.factorize(truth["track"])[0])
    table = check_table(truth, ("frame", "track", *BOX), "truth")
    if table.empty:
        raise ValueError("truth has no boxes; there is nothing to evaluate against")
    return table[["frame", "track", *BOX, *extra]]


def _check_identity(truth) -> None:
    if not isinstance(truth, pd.DataFrame):
        raise TypeError(f"truth must be a pandas DataFrame; got {type(truth).__name__}")
    if "track" not in truth.columns:
        found = ", ".join(str(column) for column in truth.columns)
        raise ValueError(
            f"truth has no 'track' column (found: {found}); rename the identity column to 'track'"
        )


def _per_frame(table: pd.DataFrame, columns: list[str], frames: np.ndarray) -> list[np.ndarray]:
    groups = table.groupby("frame").indices
    values = table[columns].to_numpy(dtype=np.float64)
    empty = np.zeros((0, len(columns)))
    return [values[groups[frame]] if frame in groups else empty for frame in frames]


def evaluate_detections(
    detections: pd.DataFrame,
    truth: pd.DataFrame,
    *,
    score_threshold: float = 0.25,
    iou_threshold: float = 0.5,
    min_visible: float = MIN_VISIBLE,
) -> dict[str, float]:
    """Precision, recall, F1 and average IoU (mice paper Table 2, Darknet's summary at
    ``score_threshold``) and AP@``iou_threshold`` (Table 3; all-point and VOC 11-point).

    Every frame of the ground truth or the detections counts as one image; class is ignored
    (one class, mice). Boxes marked ``difficult`` in the truth (a VOC file's flag) or, in
    synthetic truth, mice showing less than ``min_visible`` of their body (``visible``, the
    other mouse on top) follow the VOC rule: not counted as misses, and a detection on one is
    neither a true nor a false positive.

    Args:
        detections: ``frame, x0, y0, x1, y1, score`` rows (a detection or a track table).
        truth: ground truth with ``frame, track, x0, y0, x1, y1`` (see :func:`truth_rows`).
        score_threshold: detections must score above it for precision, recall, F1, IoU.
        iou_threshold: IoU for a match.
        min_visible: visibility below which a synthetic mouse is difficult (0: none is).

    Returns:
        ``{"precision", "recall", "f1", "average_iou", "ap", "ap_voc11", "tp", "fp", "fn",
        "difficult"}`` (``difficult``: how many boxes were).

    Examples:
        >>> import pandas as pd
        >>> truth = pd.DataFrame({"frame": [0, 1], "track": 0, "x0": 0.0, "y0": 0.0, "x1": 10.0,
        ...                       "y1": 10.0})
        >>> found = pd.DataFrame({"frame": [0, 1], "x0": [0.0, 50.0], "y0": 0.0,
        ...                       "x1": [10.0, 60.0], "y1": 10.0, "score": [0.9, 0.8]})
        >>> scores = evaluate_detections(found, truth)
        >>> scores["precision"], scores["recall"], scores["ap"], scores["average_iou"]
        (0.5, 0.5, 0.5, 0.5)
    """
    _check_identity(truth)  # before adding a column the message would list
    flagged = truth.assign(difficult=_difficult(truth, min_visible))
    ground = truth_rows(flagged, extra=("difficult",))
    found = check_table(detections, ("frame", *BOX, "score"), "detections")
    frames = np.union1d(ground["frame"].unique(), found["frame"].unique())
    per_detection = _per_frame(found, [*BOX, "score"], frames)
    per_truth = _per_frame(ground, BOX, frames)
    hard = [flags[:, 0] > 0 for flags in _per_frame(ground, ["difficult"], frames)]
    scores = detection_metrics.precision_recall_f1(
        per_detection,
        per_truth,
        score_threshold=score_threshold,
        iou_threshold=iou_threshold,
        difficult=hard,
    )
    for name, method in (("ap", "all"), ("ap_voc11", "voc11")):
        scores[name] = detection_metrics.average_precision(
            per_detection, per_truth, iou_threshold=iou_threshold, method=method, difficult=hard
        )
    scores["difficult"] = int(ground["difficult"].sum())
    return scores


def _difficult(truth: pd.DataFrame, min_visible: float) -> np.ndarray:
    """``(len(truth),)`` bool: the ``difficult`` flag, or ``visible < min_visible``."""
    flags = np.zeros(len(truth), bool)
    if "difficult" in truth.columns:
        flags |= truth["difficult"].fillna(0).to_numpy().astype(bool)
    if "visible" in truth.columns:
        flags |= truth["visible"].to_numpy(np.float64) < min_visible
    return flags


def evaluate_tracks(
    tracks: pd.DataFrame, truth: pd.DataFrame, *, iou_threshold: float = 0.5
) -> dict[str, float]:
    """CLEAR MOT (MOTA, MOTP, ID switches) and IDF1 of a track table against ground truth.

    See :func:`xaikit.metrics.tracking.clear_mot`.

    Examples:
        >>> import pandas as pd
        >>> truth = pd.DataFrame({"frame": [0, 1], "track": 0, "x0": 0.0, "y0": 0.0,
        ...                       "x1": 10.0, "y1": 10.0})
        >>> scores = evaluate_tracks(truth, truth)
        >>> scores["mota"], scores["idf1"], scores["id_switches"]
        (1.0, 1.0, 0)
    """
    ground = truth_rows(truth)
    mine = check_table(tracks, ("frame", "track", *BOX), "tracks")
    columns = ["frame", "track", *BOX]
    return clear_mot(
        ground[columns].to_numpy(np.float64),
        mine[columns].to_numpy(np.float64),
        iou_threshold=iou_threshold,
    )


def match_identities(
    tracks: pd.DataFrame, truth: pd.DataFrame, *, iou_threshold: float = 0.5
) -> dict:
    """Which ground-truth animal each track follows: ``{track id: truth id}``.

    A tracker numbers its tracks in its own order, so its track 0 may be the truth's animal 1.
    Each pair (track, animal) is scored by the number of frames in which their boxes overlap
    with IoU >= ``iou_threshold``; the one-to-one assignment with the most such frames in all
    (Hungarian algorithm) names the animal of each track. This is the assignment behind IDF1
    (:func:`xaikit.metrics.tracking.clear_mot`), so renaming the tracks after it changes no
    score. A track that switched animals mid-video is named after the one it followed for
    longer.

    Args:
        tracks: a track table with ``frame, track, x0, y0, x1, y1``.
        truth: ground truth with ``frame, track, x0, y0, x1, y1`` (see :func:`truth_rows`).
        iou_threshold: IoU for a frame to count as overlapping.

    Returns:
        ``{track id: truth id}`` (the truth's own ids, names included), in the order of the
        track ids. A track that overlaps no animal in any frame, or whose animal went to a
        track that overlaps it longer (more tracks than animals), is left out.

    Raises:
        TypeError: ``tracks`` or ``truth`` is not a DataFrame.
        ValueError: a missing column, a bad box, no truth box, or a bad ``iou_threshold``.

    Examples:
        >>> import pandas as pd
        >>> truth = pd.DataFrame({"frame": [0, 0], "track": [0, 1], "x0": [0.0, 50.0],
        ...                       "y0": 0.0, "x1": [10.0, 60.0], "y1": 10.0})
        >>> match_identities(truth.assign(track=[7, 3]), truth)
        {3: 1, 7: 0}
    """
    from scipy.optimize import linear_sum_assignment

    check_fraction(iou_threshold, "iou_threshold")
    _check_identity(truth)
    codes, names = pd.factorize(truth["track"], sort=True)
    ground = truth_rows(truth.assign(track=codes))
    overlap, track_ids = _overlap_frames(tracks, ground, len(names), iou_threshold)
    rows, columns = linear_sum_assignment(overlap, maximize=True)
    return {
        _scalar(track_ids[row]): _scalar(names[column])
        for row, column in zip(rows, columns, strict=True)
        if overlap[row, column] > 0
    }


def _overlap_frames(tracks: pd.DataFrame, ground: pd.DataFrame, animals: int, iou_threshold: float):
    """``(tracks, animals)`` counts of frames with IoU >= ``iou_threshold`` per pair, and the
    sorted track ids; ``ground``'s ids are already ``0 .. animals - 1``."""
    mine = check_table(tracks, ("frame", "track", *BOX), "tracks")
    track_ids, track_index = np.unique(mine["track"].to_numpy(), return_inverse=True)
    overlap = np.zeros((track_ids.size, animals))
    animal = ground["track"].to_numpy()
    mine_boxes, ground_boxes = mine[BOX].to_numpy(np.float64), ground[BOX].to_numpy(np.float64)
    in_truth = ground.groupby("frame").indices
    for frame, rows in mine.groupby("frame").indices.items():
        others = in_truth.get(frame)
        if others is None:
            continue
        close = detection_metrics.box_iou(mine_boxes[rows], ground_boxes[others]) >= (
            iou_threshold - np.finfo(float).eps
        )
        pairs = np.nonzero(close)
        np.add.at(overlap, (track_index[rows][pairs[0]], animal[others][pairs[1]]), 1)
    return overlap, track_ids


def _scalar(value):
    """A numpy scalar as the Python number or string it holds (a dict key that prints plainly)."""
    return value.item() if isinstance(value, np.generic) else value


def relabel_tracks(
    tracks: pd.DataFrame, truth: pd.DataFrame, *, iou_threshold: float = 0.5
) -> pd.DataFrame:
    """The track table with every track renamed after the ground-truth animal it follows
    (:func:`match_identities`), so that its behaviour table lines up with the truth's.

    Tracks that follow no animal are numbered on from the largest truth id, in the order of
    their own ids, so no two tracks share an id and none borrows an animal's id.

    Args:
        tracks: a track table with ``frame, track, x0, y0, x1, y1``.
        truth: ground truth with numeric ids in ``track`` (names: number them with
            :func:`truth_rows` first).
        iou_threshold: as in :func:`match_identities`.

    Returns:
        A copy of ``tracks`` with new ``track`` values, the rows and other columns unchanged.

    Raises:
        ValueError: the truth's ids are not numbers, and as :func:`match_identities`.

    Examples:
        >>> import pandas as pd
        >>> truth = pd.DataFrame({"frame": [0, 0], "track": [0, 1], "x0": [0.0, 50.0],
        ...                       "y0": 0.0, "x1": [10.0, 60.0], "y1": 10.0})
        >>> stray = pd.DataFrame({"frame": [0], "track": [5], "x0": [100.0], "y0": [0.0],
        ...                       "x1": [110.0], "y1": [10.0]})
        >>> tracks = pd.concat([truth.assign(track=[4, 9]), stray])
        >>> relabel_tracks(tracks, truth)["track"].tolist()
        [0, 1, 2]
    """
    _check_identity(truth)
    if not pd.api.types.is_numeric_dtype(truth["track"]):
        raise ValueError(
            "truth's track ids must be numbers to rename tracks after them; number named "
            "animals first with truth_rows(truth)"
        )
    names = match_identities(tracks, truth, iou_threshold=iou_threshold)
    start = int(truth["track"].max()) + 1
    unmatched = [t for t in np.unique(tracks["track"].to_numpy()) if _scalar(t) not in names]
    names.update({_scalar(t): start + k for k, t in enumerate(unmatched)})
    return tracks.assign(track=tracks["track"].map(names))


def paper_table(metrics: dict, digits: int | None = 3) -> pd.DataFrame:
    """The mice paper's Tables 2 to 4 (and Fig. 5) for one run, as one table.

    Args:
        metrics: :attr:`~xaikit.track.pipeline.TrackingResult.metrics` of a run with ground
            truth (``"detection"``, ``"timing"`` and optionally ``"tracking"``).
        digits: round to this many decimals (``None``: keep full precision).

    Returns:
        One row: ``precision, recall, f1`` (Table 2), ``ap, ap_voc11, average_iou``
        (Table 3, as fractions), ``time_per_frame_s, time_std_s, frames_per_second``
        (Fig. 5: detector time per frame), ``total_test_s`` (Table 4's test time: the detector
        time summed over the frames; only when the timing has ``total_s``, as every
        :meth:`~xaikit.track.detection.VideoDetections.timing` does), then
        ``mota, idf1, id_switches`` when tracks were scored.

    Examples:
        >>> metrics = {"detection": {"precision": 0.98, "recall": 0.99, "f1": 0.98497,
        ...                          "ap": 0.9, "ap_voc11": 0.89, "average_iou": 0.8},
        ...            "timing": {"mean_s": 0.08, "std_s": 0.06, "frames_per_second": 12.5,
        ...                       "total_s": 24.0}}
        >>> paper_table(metrics).iloc[0].tolist()
        [0.98, 0.99, 0.985, 0.9, 0.89, 0.8, 0.08, 0.06, 12.5, 24.0]
    """
    if "detection" not in metrics or "timing" not in metrics:
        raise ValueError(
            "metrics needs 'detection' and 'timing' (run analyse_video with truth=); got "
            f"{sorted(metrics)}"
        )
    found, timing = metrics["detection"], metrics["timing"]
    row = {name: found[name] for name in ("precision", "recall", "f1", "ap", "ap_voc11")}
    row["average_iou"] = found["average_iou"]
    row["time_per_frame_s"] = timing["mean_s"]
    row["time_std_s"] = timing["std_s"]
    row["frames_per_second"] = timing["frames_per_second"]
    if "total_s" in timing:
        row["total_test_s"] = timing["total_s"]
    if "tracking" in metrics:
        row.update({name: metrics["tracking"][name] for name in ("mota", "idf1", "id_switches")})
    table = pd.DataFrame([row])
    return table.round(digits) if digits is not None else table


#: Detection threshold of :func:`compare_detectors`: Darknet's ``detector map`` keeps boxes
#: scoring above 0.005 for AP, as the demo detectors' cards do.
COMPARE_CONF = 0.005


def compare_detectors(
    detectors: Mapping[str, object],
    video,
    truth: pd.DataFrame,
    *,
    score_threshold: float = 0.25,
    iou_threshold: float = 0.5,
    conf_threshold: float = COMPARE_CONF,
    nms_iou: float = 0.45,
    warmup: int = 1,
    fps: float | None = None,
    device=None,
    progress: bool = False,
) -> pd.DataFrame:
    """The mice paper's Full-versus-Tiny comparison (Tables 2 to 4, Fig. 5): one row per
    detector, all run on the same frames, one frame per call.

    Each detector runs over every frame with ``batch_size=1``
    (:func:`~xaikit.track.detection.detect_video`, which times each call of ``detect``:
    resize, forward pass, decoding, NMS) after ``warmup`` untimed calls on the first frame
    (the first call of a model allocates its buffers). Its detections are scored by
    :func:`evaluate_detections` and laid out by :func:`paper_table`. Table 4's test time is
    ``total_test_s``, the per-frame times summed (the paper: 1188 s Full, 261 s Tiny over its
    test images; Fig. 5: 0.36 +- 0.16 s and 0.08 +- 0.06 s per image).

    Conventions: boxes ``(x0, y0, x1, y1)`` in continuous frame pixels; the paper's mAP
    (Table 3) is VOC's 11-point AP (``ap_voc11``), given beside the all-point ``ap``; mostly
    hidden mice are VOC "difficult" boxes (see :func:`evaluate_detections`). Deviations: the
    paper does not state Table 2's score threshold (0.25 is Darknet's default); its times are
    GPU times of Darknet, these are the times of ``detect`` on ``device``; its training times
    are Darknet's hours, ``train_s`` is the wall time of the demo card's fit (which depends on
    the machine's load; the card also records its CPU seconds where it has them).

    Args:
        detectors: ``{label: detector}``, e.g. ``{"Full": xk.models.load("demo-mice-full"),
            "Tiny": xk.models.load("demo-mice")}``; each has ``detect`` (see
            :func:`~xaikit.track.detection.detect_video`).
        video: the test frames: a path, a VideoReader, an
            :class:`~xaikit.data.synthetic.ArenaClip` or a ``(T, H, W, 3)`` uint8 array.
        truth: their ground truth (``frame, track, x0, y0, x1, y1``, see :func:`truth_rows`).
        score_threshold: score above which a detection counts for precision, recall, F1 and
            average IoU (Darknet's summary uses 0.25).
        iou_threshold: IoU of a match (0.5, VOC).
        conf_threshold: detections kept for AP (all scores above it).
        nms_iou: NMS threshold.
        warmup: untimed calls before timing (>= 0).
        fps: frame rate of an array of frames.
        device: ``None`` picks CUDA, then MPS, then CPU.
        progress: show progress bars.

    Returns:
        One row per detector, indexed by its label: the columns of :func:`paper_table`
        (``precision, recall, f1, ap, ap_voc11, average_iou, time_per_frame_s, time_std_s,
        frames_per_second, total_test_s``, unrounded), then ``frames`` (how many were timed),
        ``parameters`` (NaN for a detector that is not a torch module) and ``train_s``
        (training seconds from a demo model's card, ``training.seconds``; NaN without one).

    Raises:
        ValueError: no detectors, a negative ``warmup``, and as :func:`evaluate_detections`
            and :func:`~xaikit.track.detection.detect_video`.

    Examples:
        >>> import numpy as np, pandas as pd, torch
        >>> class Still:  # a stand-in detector: one fixed box per frame
        ...     def detect(self, frames, conf_threshold, iou_threshold):
        ...         return [torch.tensor([[0.0, 0.0, 10.0, 5.0, 0.9, 0.0]]) for _ in frames]
        >>> truth = pd.DataFrame({"frame": [0, 1], "track": 0, "x0": 0.0, "y0": 0.0,
        ...                       "x1": 10.0, "y1": 10.0})
        >>> table = compare_detectors({"Still": Still()}, np.zeros((2, 16, 16, 3), np.uint8),
        ...                           truth, fps=1)
        >>> table.loc["Still", ["precision", "recall", "average_iou", "frames"]].tolist()
        [1.0, 1.0, 0.5, 2.0]
    """
    if not detectors:
        raise ValueError("detectors is empty; give {label: detector}, e.g. {'Full': f, 'Tiny': t}")
    if not isinstance(warmup, (int, np.integer)) or warmup < 0:
        raise ValueError(f"warmup must be an int >= 0; got {warmup!r}")
    rows = {}
    for label, model in detectors.items():
        run = _timed_run(model, video, warmup, conf_threshold, nms_iou, fps, device, progress)
        scores = evaluate_detections(
            run.table, truth, score_threshold=score_threshold, iou_threshold=iou_threshold
        )
        row = paper_table({"detection": scores, "timing": run.timing()}, digits=None).iloc[0]
        rows[label] = {
            **row.to_dict(),
            "frames": len(run.times),
            "parameters": _parameters(model),
            "train_s": _training_seconds(model),
        }
    return pd.DataFrame.from_dict(rows, orient="index")


def _timed_run(model, video, warmup, conf_threshold, nms_iou, fps, device, progress):
    """:func:`detect_video` one frame per call, after ``warmup`` untimed calls."""
    if warmup and hasattr(model, "to"):
        model.to(resolve_device(device))
    first = [np.asarray(open_frames(video, fps).frames[0])] if warmup else []
    for _ in range(warmup):
        model.detect(first, conf_threshold=conf_threshold, iou_threshold=nms_iou)
    return detect_video(
        model,
        video,
        batch_size=1,
        conf_threshold=conf_threshold,
        iou_threshold=nms_iou,
        fps=fps,
        device=device,
        describe=False,
        progress=progress,
    )


def _parameters(model) -> float:
    """Number of parameters of a torch module; NaN for anything else."""
    if not hasattr(model, "parameters"):
        return float("nan")
    return float(sum(p.numel() for p in model.parameters()))


def _training_seconds(model) -> float:
    """Training seconds a demo model's card records (``training.seconds``, its ``DEFAULT``
    entry); NaN for a model without a card."""
    card = getattr(getattr(model, "xaikit_info", None), "card", None)
    seconds = (card or {}).get("training", {}).get("seconds")
    if isinstance(seconds, Mapping):
        seconds = seconds.get("DEFAULT")
    return float("nan") if seconds is None else float(seconds)
