"""Test-time augmentation smoothing (``aug_smooth=True``), for every method of the engine.

pytorch-grad-cam's ``aug_smooth`` (its default ``ttach`` transforms): the input is explained
six times, as it is and mirrored left to right, each multiplied by 0.9, 1 and 1.1; every map
is mirrored back and the six are averaged.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from xaikit.explain.explanation import Explanation

#: ``(mirrored, factor)`` of each augmentation, in ttach's order (flip outermost).
AUGMENTATIONS = tuple((flip, factor) for flip in (False, True) for factor in (0.9, 1.0, 1.1))


def _mirrored(tensor: torch.Tensor, flip: bool) -> torch.Tensor:
    """``tensor`` mirrored along its last (width) axis when ``flip``."""
    return tensor.flip(-1) if flip else tensor


def augmentation_smoothed(
    explain_once: Callable[[torch.Tensor, object], dict[str, Explanation]],
    x: torch.Tensor,
    target,
) -> dict[str, Explanation]:
    """Every method's maps averaged over :data:`AUGMENTATIONS`.

    Args:
        explain_once: ``(input, target) -> {method: Explanation}``, one call of the engine.
        x: ``(B, C, H, W)`` or ``(B, C, T, H, W)`` input (the mirror flips ``W``).
        target: the resolved target; a class target is fixed to the classes explained on
            ``x`` itself, so that an augmentation cannot change which class is explained
            (pytorch-grad-cam re-predicts the class of each augmented input when given no
            targets: pass explicit classes to compare with it).

    Returns:
        ``{method: Explanation}`` whose ``maps`` and ``raw`` are the means of the mirrored-back
        maps of the six passes (the means of normalised maps: each pass's map is in [0, 1],
        so their mean is too, and it is not normalised again, as in pytorch-grad-cam);
        ``targets`` and ``scores`` are those of the unaugmented input.
    """
    plain = explain_once(x, target)
    fixed = target.restrict(torch.arange(len(x), device=x.device), _classes(plain))
    passes = [
        plain
        if (flip, factor) == (False, 1.0)
        else explain_once(_mirrored(x, flip) * factor, fixed)
        for flip, factor in AUGMENTATIONS
    ]
    for name, explanation in plain.items():
        runs = [run[name] for run in passes]
        explanation.maps = _mean_mirrored_back([run.maps for run in runs])
        explanation.raw = _mean_mirrored_back([run.raw for run in runs])
    return plain


def _mean_mirrored_back(maps: list[dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
    """The mean of each key's maps of the passes of :data:`AUGMENTATIONS`, mirrored back."""
    return {
        key: torch.stack(
            [_mirrored(run[key], flip) for run, (flip, _) in zip(maps, AUGMENTATIONS, strict=True)]
        ).mean(dim=0)
        for key in maps[0]
    }


def _classes(explanations: dict[str, Explanation]) -> torch.Tensor | None:
    return next(iter(explanations.values())).targets
