"""How well a classifier does: accuracy through its own preprocessing (per item, or per video
from its clips), its top classes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = ["VideoAccuracy", "accuracy", "top_classes", "video_accuracy"]


def accuracy(model, items, labels, *, batch_size: int = 64) -> float:
    """Share of items a classifier made by :func:`xaikit.models.load` gets right.

    The items go through the model's own preprocessing (``xaikit.models.info(model)``), on the
    model's device.

    Args:
        model: an image or clip classifier with ``xaikit_info``.
        items: ``(N, H, W, 3)`` uint8 images or ``(N, T, H, W, 3)`` uint8 clips.
        labels: ``(N,)`` class indices.
        batch_size: items per forward pass.

    Returns:
        Accuracy in [0, 1].

    Raises:
        ValueError: not one label per item, or no item.

    Examples:
        >>> import numpy as np, xaikit as xk
        >>> model = xk.models.load("demo-actions", weights=None, device="cpu")
        >>> clips = np.zeros((2, 8, 64, 64, 3), np.uint8)
        >>> accuracy(model, clips, [0, 0]) in (0.0, 1.0)
        True
    """
    from xaikit.models.registry import info
    from xaikit.models.zoo.training import predict

    labels = np.asarray(labels).ravel()
    if len(items) != labels.size or labels.size == 0:
        raise ValueError(
            f"need one label per item (> 0); got {len(items)} items and {labels.size} labels"
        )
    predicted = predict(model, np.asarray(items), info(model).preprocess, batch_size=batch_size)
    return float((predicted == labels).mean())


@dataclass(frozen=True)
class VideoAccuracy:
    """Clip-wise and video-wise accuracy of a clip classifier on whole videos.

    Attributes:
        clip_correct: ``(N, K)`` whether each of a video's K clips is classified right.
        video_correct: ``(N,)`` whether each video's prediction (its clips' mean softmax) is right.
    """

    clip_correct: np.ndarray
    video_correct: np.ndarray

    @property
    def clip_wise(self) -> float:
        """Share of clips classified right (the 3D-CAM paper's "frame-wise" column)."""
        return float(self.clip_correct.mean())

    @property
    def video_wise(self) -> float:
        """Share of videos classified right (its "total video-wise" column)."""
        return float(self.video_correct.mean())


def video_accuracy(
    model, videos, labels, clip_frames: int, *, sampling: str = "consecutive", batch_size: int = 64
):
    """Accuracy of a clip classifier per clip and per video, as the 3D-CAM paper's Table 9.

    Each video of T frames is cut into K = T // ``clip_frames`` non-overlapping clips (frames
    left over at the end are dropped), every clip is classified through the model's own
    preprocessing, and a video's prediction is the class of its clips' mean softmax
    probability. ``sampling="consecutive"`` (the paper's: clip k is frames ``k*t .. k*t + t -
    1``) or ``"interleaved"`` (clip k is every K-th frame from frame k: each clip spans the whole
    video, for actions that take the whole video, such as :func:`xaikit.data.synthetic.actions`).

    Args:
        model: a clip classifier with ``xaikit_info`` (e.g. ``xk.models.load("demo-actions")``).
        videos: ``(N, T, H, W, 3)`` uint8, one action per video, ``T >= clip_frames``.
        labels: ``(N,)`` class indices.
        clip_frames: frames per clip, the length the model takes.
        sampling: ``"consecutive"`` or ``"interleaved"``.
        batch_size: clips per forward pass.

    Returns:
        :class:`VideoAccuracy`.

    Examples:
        >>> import numpy as np, xaikit as xk
        >>> model = xk.models.load("demo-actions", weights=None, device="cpu")
        >>> result = video_accuracy(model, np.zeros((2, 17, 64, 64, 3), np.uint8), [0, 1], 8)
        >>> result.clip_correct.shape, result.video_correct.shape  # 2 clips each, 1 frame left
        ((2, 2), (2,))
    """
    from xaikit.models.registry import info
    from xaikit.models.zoo.training import class_probabilities

    videos, labels = np.asarray(videos), np.asarray(labels).ravel()
    if videos.ndim != 5 or len(videos) != labels.size or labels.size == 0:
        raise ValueError(
            f"need (N, T, H, W, 3) videos and one label each; got {videos.shape} and "
            f"{labels.size} labels"
        )
    count = videos.shape[1] // clip_frames if clip_frames >= 1 else 0
    if count == 0:
        raise ValueError(f"videos of {videos.shape[1]} frames hold no clip of {clip_frames}")
    if sampling not in ("consecutive", "interleaved"):
        raise ValueError(f"sampling must be 'consecutive' or 'interleaved'; got {sampling!r}")
    kept = videos[:, : count * clip_frames]
    if sampling == "consecutive":
        clips = kept.reshape(-1, clip_frames, *videos.shape[2:])
    else:  # frame k + K * j is frame j of clip k
        clips = kept.reshape(len(videos), clip_frames, count, *videos.shape[2:]).swapaxes(1, 2)
        clips = clips.reshape(-1, clip_frames, *videos.shape[2:])
    probabilities = class_probabilities(model, clips, info(model).preprocess, batch_size)
    probabilities = probabilities.reshape(len(videos), count, -1)
    clip_correct = probabilities.argmax(axis=2) == labels[:, None]
    video_correct = probabilities.mean(axis=1).argmax(axis=1) == labels
    return VideoAccuracy(clip_correct, video_correct)


def top_classes(model, x, k: int = 3, categories: Sequence[str] | None = None) -> pd.DataFrame:
    """The ``k`` most probable classes of each input, with their softmax probabilities.

    Args:
        model: a classifier returning ``(B, K)`` logits.
        x: model input ``(B, C, H, W)`` or ``(B, C, T, H, W)``, on the model's device.
        k: how many classes (at most K are given).
        categories: class names (default: ``model.xaikit_info.categories`` when present).

    Returns:
        DataFrame with columns ``item, rank, class, name, probability`` (rank 1 = predicted).

    Raises:
        ValueError: ``k`` is not an int >= 1.

    Examples:
        >>> import torch
        >>> from torch import nn
        >>> net = nn.Linear(3, 3, bias=False); _ = net.weight.data.copy_(torch.eye(3))
        >>> top = top_classes(net, torch.tensor([[0.0, 2.0, 1.0]]), k=2)
        >>> top[["rank", "class", "name"]].values.tolist()
        [[1, 1, 'class 1'], [2, 2, 'class 2']]
    """
    import pandas as pd
    import torch

    if not isinstance(k, int) or k < 1:
        raise ValueError(f"k must be an int >= 1; got {k!r}")
    if categories is None:
        categories = getattr(getattr(model, "xaikit_info", None), "categories", None)
    with torch.no_grad():
        probabilities = model(x).float().softmax(dim=1).cpu()
    values, indices = probabilities.topk(min(k, probabilities.shape[1]), dim=1)
    rows = []
    for item in range(len(indices)):
        for rank, (index, value) in enumerate(zip(indices[item], values[item], strict=True), 1):
            index = int(index)
            name = str(categories[index]) if categories is not None else f"class {index}"
            rows.append((item, rank, index, name, float(value)))
    return pd.DataFrame(rows, columns=["item", "rank", "class", "name", "probability"])
