"""Finer-CAM's own pass (Zhang et al., "Finer-CAM: Spotting the Difference Reveals Finer
Details for Visual Explanation", CVPR 2025): the gradient of a contrastive score, the
explained class's logit against those of similar classes, at every requested layer.

Two peers define the score differently, both with the comparison (reference) classes ``R``
chosen, by default, as the ``references`` classes whose logits are closest to the explained
class's logit ``y_c`` (the class itself excluded):

* ``weighting="softmax"`` (default; pytorch-grad-cam 1.5.7's ``FinerCAM`` with
  ``FinerWeightedTarget``): ``sum_j p_j (y_c - alpha y_j) / (sum_j p_j + 1e-9)`` over
  ``j in R``, ``p = softmax(y)`` differentiated with the rest; ``alpha`` defaults to 1.
* ``weighting="mean"`` (torch-cam 0.5's ``FinerCAM``): ``y_c - alpha mean_j y_j``; torch-cam
  calls ``alpha`` ``gamma`` and defaults it to 0.6, so its maps are ``alpha=0.6,
  weighting="mean"``.

Either way the comparisons are aggregated in the score, before the CAM's ReLU.
"""

from __future__ import annotations

import math
import numbers

import torch

from xaikit.explain.hooks import input_copy
from xaikit.explain.targets import ClassTarget

WEIGHTINGS = ("softmax", "mean")
DEFAULT_REFERENCES = 3
_EPS = 1e-9  # pytorch-grad-cam's epsilon in the softmax-weighted mean


def contrastive_score(
    logits: torch.Tensor,
    classes: torch.Tensor,
    references: torch.Tensor,
    alpha: float = 1.0,
    weighting: str = "softmax",
) -> torch.Tensor:
    """The Finer-CAM score ``(B,)`` of logits ``(B, K)`` for the explained ``classes`` ``(B,)``
    against the ``references`` ``(B, T)`` (see the module docstring).

    Examples:
        >>> import torch
        >>> logits = torch.tensor([[2.0, 1.0, 0.0]])
        >>> c, r = torch.tensor([0]), torch.tensor([[1, 2]])
        >>> contrastive_score(logits, c, r, alpha=1.0, weighting="mean").tolist()  # 2 - 1/2
        [1.5]
        >>> p1, p2 = logits.softmax(dim=1)[0, 1:].tolist()   # weights of (2 - 1) and (2 - 0)
        >>> round(float(contrastive_score(logits, c, r)), 4) == round((p1 + 2 * p2) / (p1 + p2), 4)
        True
    """
    target = logits.gather(1, classes[:, None])
    others = logits.gather(1, references)
    if weighting == "mean":
        return (target - alpha * others.mean(dim=1, keepdim=True)).squeeze(1)
    weights = logits.softmax(dim=1).gather(1, references)
    return (weights * (target - alpha * others)).sum(dim=1) / (weights.sum(dim=1) + _EPS)


def closest_classes(logits: torch.Tensor, classes: torch.Tensor, count: int) -> torch.Tensor:
    """The ``min(count, K - 1)`` classes ``(B, T)`` whose logits are closest to each explained
    class's, closest first, the class itself excluded.

    Examples:
        >>> import torch
        >>> closest_classes(torch.tensor([[0.0, 5.0, 4.5, 9.0]]), torch.tensor([1]), 2).tolist()
        [[2, 3]]
    """
    distances = (logits - logits.gather(1, classes[:, None])).abs()
    distances = distances.scatter(1, classes[:, None], math.inf)
    count = min(count, logits.shape[1] - 1)
    return distances.topk(count, dim=1, largest=False).indices


def comparison_rows(comparisons, classes: torch.Tensor, num_classes: int) -> torch.Tensor:
    """Explicit comparison classes as ``(B, T)``: an int, one list for every sample, or one
    list (of equal lengths) per sample; each row checked against its explained class.

    Raises:
        ValueError: an empty list, a non-integer, an index out of range, a repeat or the
            explained class among a sample's comparisons.
    """
    value = comparisons.tolist() if hasattr(comparisons, "tolist") else comparisons  # arrays
    if _is_index(value):
        value = [value]
    if not isinstance(value, (list, tuple)) or not value:
        raise ValueError(
            f"comparisons must be a class index, a list of them or one list per sample; got "
            f"{comparisons!r}"
        )
    nested = [isinstance(row, (list, tuple)) for row in value]
    rows = [list(row) for row in value] if all(nested) else [list(value) for _ in classes]
    mixed = any(nested) and not all(nested)
    if mixed or len(rows) != len(classes) or len({len(row) for row in rows}) != 1 or not rows[0]:
        raise ValueError(
            f"comparisons per sample must be {len(classes)} non-empty lists of one length; "
            f"got {comparisons!r}"
        )
    for sample, (row, explained) in enumerate(zip(rows, classes.tolist(), strict=True)):
        if not all(_is_index(c) for c in row):
            raise ValueError(f"comparisons must be class indices (ints); got {row!r}")
        row[:] = [int(c) for c in row]
        if any(c < 0 or c >= num_classes for c in row):
            raise ValueError(f"comparisons must lie in [0, {num_classes - 1}]; got {row!r}")
        if len(set(row)) != len(row) or explained in row:
            raise ValueError(
                f"comparisons of sample {sample} must be distinct classes other than the "
                f"explained class {explained}; got {row!r}"
            )
    return torch.tensor(rows, dtype=torch.long, device=classes.device)


def _is_index(value) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def finer_options(context) -> dict:
    """The checked options ``comparisons``, ``references``, ``alpha``, ``weighting``."""
    options = context.options
    if "comparisons" in options and "references" in options:
        raise ValueError("give finercam comparisons (classes) or references (a count), not both")
    references = options.get("references", DEFAULT_REFERENCES)
    if isinstance(references, bool) or not isinstance(references, int) or references < 1:
        raise ValueError(f"references must be an int >= 1; got {references!r}")
    alpha = options.get("alpha", 1.0)
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not math.isfinite(alpha):
        raise ValueError(f"alpha must be a finite number; got {alpha!r}")
    weighting = options.get("weighting", "softmax")
    if weighting not in WEIGHTINGS:
        raise ValueError(f"weighting must be one of {WEIGHTINGS}; got {weighting!r}")
    return {
        "comparisons": options.get("comparisons"),
        "references": references,
        "alpha": float(alpha),
        "weighting": weighting,
    }


def contrastive_gradients(context) -> tuple[dict, dict]:
    """Activations and gradients of the Finer-CAM score at every requested layer, both
    ``{layer: (B, C, *s)}`` and detached: one extra forward and backward per chunk of
    ``batch_size`` samples (the graph starting at the first requested layer, as in the shared
    pass). The explained classes are those of the shared pass.

    Raises:
        ValueError: no class target, outputs that are not ``(B, K)`` logits with ``K >= 2``,
            or bad options.
    """
    if not isinstance(context.target, ClassTarget) or context.classes is None:
        raise ValueError(
            "finercam needs a class target (None, an int, ints, TopK or ClassTarget): its "
            "score compares the explained class's logit with other classes'"
        )
    options = finer_options(context)
    fixed = None
    activations = {name: [] for name in context.layer_names}
    gradients = {name: [] for name in context.layer_names}
    captured = context.capture.activations
    for rows in context.chunks():
        _, x = input_copy(context.x[rows])
        with context.capture.graph_from_first_layer(), context.autocast_context():
            logits = context.model(x)
            if not isinstance(logits, torch.Tensor) or logits.ndim != 2 or logits.shape[1] < 2:
                got = tuple(logits.shape) if isinstance(logits, torch.Tensor) else type(logits)
                raise ValueError(f"finercam needs (B, K) logits with K >= 2; got {got}")
            classes = context.classes[rows].to(logits.device)
            if options["comparisons"] is None:
                references = closest_classes(logits.detach(), classes, options["references"])
            else:
                if fixed is None:
                    fixed = comparison_rows(
                        options["comparisons"], context.classes, logits.shape[1]
                    )
                references = fixed[rows].to(logits.device)
            score = contrastive_score(
                logits.float(), classes, references, options["alpha"], options["weighting"]
            )
            tensors = [captured[name] for name in context.layer_names]
            grads = torch.autograd.grad(score.sum(), tensors, allow_unused=True)
        for name, tensor, grad in zip(context.layer_names, tensors, grads, strict=True):
            activations[name].append(tensor.detach().float())
            gradients[name].append(
                torch.zeros_like(tensor).float() if grad is None else grad.detach().float()
            )
        captured.clear()
    return (
        {name: torch.cat(parts) for name, parts in activations.items()},
        {name: torch.cat(parts) for name, parts in gradients.items()},
    )
