"""The result of one explainer call: one map per layer, at input and at feature resolution."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import torch

from xaikit._arrays import minmax

COMBINE_MODES = ("sum", "mean", "max", "product")
#: What :meth:`Explanation.combine` combines: the maps at input resolution or the raw maps.
COMBINE_SOURCES = ("maps", "raw")


def _minmax_eps(maps: torch.Tensor) -> torch.Tensor:
    """torch-cam's per-sample normalisation, ``(c - min) / (max - min + 1e-8)``."""
    flat = maps.flatten(1)
    low = flat.amin(dim=1).reshape(-1, *[1] * (maps.ndim - 1))
    shifted = maps - low
    high = shifted.flatten(1).amax(dim=1).reshape(-1, *[1] * (maps.ndim - 1))
    return shifted / (high + 1e-8)


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

    def combine(
        self,
        layers: Sequence[str] | None = None,
        how: str = "sum",
        *,
        on: str = "maps",
        normalised: bool = True,
    ) -> torch.Tensor:
        """Global-local aggregation of per-layer maps.

        ``on="maps"`` (default): the per-layer maps at input resolution (each already in
        [0, 1]) are summed, averaged, maxed or multiplied, passed through a ReLU and min-max
        normalised per sample (:func:`xaikit._arrays.minmax`), so the result is in [0, 1] too.
        This is the one definition of Sum-3DCAM (the 3DCAM paper's Eq. 6,
        ``ReLU(sum_k 3DCAM_k)``: ``how="sum"`` on a ``"3dcam"`` explanation) and of Sum
        Grad-CAM; ``how="mean"`` of min-max normalised Grad-CAMs is what pytorch-grad-cam
        returns for several target layers, and ``how="product"`` is its ``RefineCAM``
        (Domeniconi et al. 2026: the product of the layers' maps, min-max normalised).

        ``on="raw"``: torch-cam's fusion at feature resolution (``RefineCAM.fuse_cams`` for
        ``how="product"``): each layer's :attr:`raw` map, after the method's ReLU, is min-max
        normalised per sample as torch-cam does, ``(c - min) / (max - min + 1e-8)``, resized
        (bilinear or trilinear, half-pixel) to the largest size along each axis among the
        layers, combined, and normalised the same way again. The result stays at that
        feature size (upsample it for input resolution); resizing before or after the
        product changes the numbers, so torch-cam's values need ``on="raw"``.

        Args:
            layers: names of maps in :attr:`maps` (:attr:`raw` for ``on="raw"``); ``None``
                takes every layer of the call.
            how: ``"sum"``, ``"mean"``, ``"max"`` or ``"product"``.
            on: ``"maps"`` (input resolution) or ``"raw"`` (feature resolution).
            normalised: min-max normalise the result (``False``: torch-cam's
                ``normalized=False``, the ReLU'd combination itself).

        Returns:
            ``(B, H, W)`` or ``(B, T, H, W)`` tensor, in [0, 1] when ``normalised``.

        Raises:
            ValueError: unknown ``how`` or ``on``, empty ``layers``, a name without a map,
                or raw maps that are not one map per sample.

        Examples:
            >>> import torch
            >>> e = Explanation("gradcam", maps={}, raw={
            ...     "a": torch.tensor([[[0.0, 1.0], [2.0, 3.0]]]),
            ...     "b": torch.tensor([[[3.0, 2.0], [1.0, 0.0]]])})
            >>> fused = e.combine(["a", "b"], how="product", on="raw", normalised=False)
            >>> fused.mul(9).round(decimals=6).tolist()  # (0, 1/3, 2/3, 1) (1, 2/3, 1/3, 0)
            [[[0.0, 2.0], [2.0, 0.0]]]
            >>> e.combine(["a", "b"], how="product", on="raw").round(decimals=6).tolist()
            [[[0.0, 1.0], [1.0, 0.0]]]
        """
        if how not in COMBINE_MODES:
            raise ValueError(f"how must be one of {COMBINE_MODES}; got {how!r}")
        if on not in COMBINE_SOURCES:
            raise ValueError(f"on must be one of {COMBINE_SOURCES}; got {on!r}")
        source = self.maps if on == "maps" else self.raw
        names = list(self.layers if layers is None else layers)
        if isinstance(layers, str):
            names = [layers]
        if not names:
            raise ValueError("combine needs at least one layer name")
        missing = [name for name in names if name not in source]
        if missing:
            kind = "map" if on == "maps" else "raw map"
            raise ValueError(f"no {kind} for {missing}; available: {sorted(source)}")
        if on == "raw":
            stack = self._raw_stack(names)
            normalise = _minmax_eps
        else:
            stack = torch.stack([self.maps[name] for name in names])
            normalise = minmax
        if how == "sum":
            combined = stack.sum(dim=0)
        elif how == "mean":
            combined = stack.mean(dim=0)
        elif how == "max":
            combined = stack.amax(dim=0)
        else:
            combined = stack.prod(dim=0)
        combined = combined.clamp_min(0)
        return normalise(combined) if normalised else combined

    def _raw_stack(self, names: list[str]) -> torch.Tensor:
        """The raw maps of ``names``, ReLU'd as the method does, min-max normalised (eps
        1e-8) and resized to the largest size along each axis: ``(L, B, *S)``."""
        from xaikit.explain._maps import upsample
        from xaikit.explain.registry import METHODS

        raws = [self.raw[name] for name in names]
        dims = {raw.ndim for raw in raws}
        if len(dims) != 1 or dims.pop() not in (3, 4) or len({raw.shape[0] for raw in raws}) > 1:
            shapes = {name: tuple(raw.shape) for name, raw in zip(names, raws, strict=True)}
            raise ValueError(
                "on='raw' needs one map per sample, all (B, h, w) or all (B, t, h, w); got "
                f"{shapes}"
            )
        relu = self.method not in METHODS or METHODS[self.method].relu
        size = tuple(max(sizes) for sizes in zip(*(raw.shape[1:] for raw in raws), strict=True))
        return torch.stack(
            [upsample(_minmax_eps(raw.clamp_min(0) if relu else raw), size) for raw in raws]
        )

    def __repr__(self) -> str:
        shapes = {name: tuple(value.shape) for name, value in self.maps.items()}
        return f"Explanation(method={self.method!r}, maps={shapes})"
