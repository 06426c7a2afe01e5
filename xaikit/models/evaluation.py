"""How well a classifier does: accuracy through its own preprocessing, its top classes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = ["accuracy", "top_classes"]


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
