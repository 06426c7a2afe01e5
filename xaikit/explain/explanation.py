"""The result of one explainer call: one map per layer, at input and at feature resolution."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import torch

from xaikit._arrays import minmax

COMBINE_MODES = ("sum", "mean", "max")


@dataclass
class Explanation:
    """Maps of one method for one batch, keyed by layer name.

    Attributes:
        method: method name, e.g. ``"gradcam"``.
        maps: ``{layer: (B, H, W) or (B, T, H, W)}`` at input resolution, in [0, 1].
            Gradient and perturbation CAMs are min-max normalised per sample (a constant map
            becomes all zeros, NaN stays NaN); pixel methods are ``|a| / max |a|``; 3DCAM is
            the paper's product of max-normalised terms. Pixel methods use the key ``"input"``;
            combinations of layers use ``"a+b"``.
        raw: the same maps at feature resolution before normalisation (``(B, h, w)`` or
            ``(B, t, h, w)``); signed where the method is signed. Integrated Gradients keeps
            one attribution per input channel there, ``(B, C, H, W)`` or ``(B, C, T, H, W)``
            (captum's convention, ``multiply_by_inputs=True``); its map sums the channels.
        targets: ``(B,)`` class index explained per sample when the target is a class,
            else ``None``.
        scores: ``(B,)`` target score of each sample on the unperturbed input.
        sample_index: ``(B,)`` index of the input image behind each map (differs from
            ``arange(B)`` when a detection target explains several boxes of one image).

    Examples:
        >>> import torch
        >>> e = Explanation("gradcam", maps={"a": torch.tensor([[[0.0, 1.0]]]),
        ...                                  "b": torch.tensor([[[1.0, 1.0]]])}, raw={})
        >>> e.combine(["a", "b"], how="sum").tolist()
        [[[0.0, 1.0]]]
        >>> e.combine(["a", "b"], how="max").tolist()
        [[[0.0, 0.0]]]
    """

    method: str
    maps: dict[str, torch.Tensor]
    raw: dict[str, torch.Tensor]
    targets: torch.Tensor | None = None
    scores: torch.Tensor | None = None
    sample_index: torch.Tensor | None = None
    layers: list[str] = field(default_factory=list)

    def combine(self, layers: Sequence[str] | None = None, how: str = "sum") -> torch.Tensor:
        """Global-local aggregation of per-layer maps at input resolution.

        The per-layer maps (each already in [0, 1]) are summed, averaged or maxed, passed
        through a ReLU and min-max normalised per sample (:func:`xaikit._arrays.minmax`), so
        the result is in [0, 1] too. This is the one definition of Sum-3DCAM (the 3DCAM
        paper's Eq. 6, ``ReLU(sum_k 3DCAM_k)``: ``how="sum"`` on a ``"3dcam"`` explanation)
        and of Sum Grad-CAM; ``how="mean"`` of min-max normalised Grad-CAMs is what
        pytorch-grad-cam returns for several target layers.

        Args:
            layers: names of maps in :attr:`maps`; ``None`` takes every layer of the call.
            how: ``"sum"``, ``"mean"`` or ``"max"``.

        Returns:
            ``(B, H, W)`` or ``(B, T, H, W)`` tensor in [0, 1].

        Raises:
            ValueError: unknown ``how``, empty ``layers`` or a name without a map.
        """
        if how not in COMBINE_MODES:
            raise ValueError(f"how must be one of {COMBINE_MODES}; got {how!r}")
        names = list(self.layers if layers is None else layers)
        if isinstance(layers, str):
            names = [layers]
        if not names:
            raise ValueError("combine needs at least one layer name")
        missing = [name for name in names if name not in self.maps]
        if missing:
            raise ValueError(f"no map for {missing}; available: {sorted(self.maps)}")
        stack = torch.stack([self.maps[name] for name in names])
        if how == "sum":
            combined = stack.sum(dim=0)
        elif how == "mean":
            combined = stack.mean(dim=0)
        else:
            combined = stack.amax(dim=0)
        return minmax(combined.clamp_min(0))

    def __repr__(self) -> str:
        shapes = {name: tuple(value.shape) for name, value in self.maps.items()}
        return f"Explanation(method={self.method!r}, maps={shapes})"
