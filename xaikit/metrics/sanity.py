"""Sanity check of an explanation method: cascading model-parameter randomisation (Adebayo et al.,
NeurIPS 2018), scored per layer with Spearman rank correlation and SSIM."""

from __future__ import annotations

import copy

import numpy as np

from xaikit._arrays import to_numpy
from xaikit.metrics._model import as_images

__all__ = ["cascading_randomization", "ssim"]


def ssim(first, second, *, window: int = 7) -> float:
    """Structural similarity of two ``(H, W)`` maps, as ``skimage.metrics.structural_similarity``.

    scikit-image's defaults (as Quantus uses them): a ``window`` x ``window`` uniform window,
    sample covariances (N - 1), K1 = 0.01, K2 = 0.03, data range = max - min over both maps, mean
    over the positions where the window fits.

    Args:
        first: ``(H, W)`` map.
        second: ``(H, W)`` map, same shape; both at least ``window`` pixels on each side.
        window: odd window size.

    Returns:
        SSIM in [-1, 1]; 1 for identical maps (two identical constant maps included).

    Examples:
        >>> import numpy as np
        >>> from xaikit.metrics.sanity import ssim
        >>> image = np.arange(64.0).reshape(8, 8)
        >>> ssim(image, image)
        1.0
        >>> ssim(image, image[::-1]) < 0
        True
    """
    from scipy.ndimage import uniform_filter

    a = np.asarray(to_numpy(first), dtype=np.float64)
    b = np.asarray(to_numpy(second), dtype=np.float64)
    if a.shape != b.shape or a.ndim != 2:
        raise ValueError(f"ssim takes two maps (H, W) of one shape; got {a.shape} and {b.shape}")
    if window % 2 == 0 or min(a.shape) < window:
        raise ValueError(f"window must be odd and fit the maps {a.shape}; got {window}")
    data_range = max(a.max(), b.max()) - min(a.min(), b.min())
    if data_range == 0:
        return 1.0
    count = window * window
    correction = count / (count - 1)
    mean_a, mean_b = uniform_filter(a, window), uniform_filter(b, window)
    var_a = correction * (uniform_filter(a * a, window) - mean_a**2)
    var_b = correction * (uniform_filter(b * b, window) - mean_b**2)
    cov = correction * (uniform_filter(a * b, window) - mean_a * mean_b)
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    index = ((2 * mean_a * mean_b + c1) * (2 * cov + c2)) / (
        (mean_a**2 + mean_b**2 + c1) * (var_a + var_b + c2)
    )
    pad = (window - 1) // 2
    return float(index[pad:-pad, pad:-pad].mean())


def _normalised(maps) -> np.ndarray:
    """Absolute value scaled by the per-map maximum (Adebayo et al.'s ``abs_grayscale_norm``)."""
    maps = np.abs(np.asarray(to_numpy(maps), dtype=np.float64))
    peak = maps.max(axis=(1, 2), keepdims=True)
    return np.where(peak > 0, maps / np.where(peak > 0, peak, 1), 0.0)


def _randomisable_layers(model) -> list[str]:
    """Modules with their own parameters and a ``reset_parameters``, in registration order."""
    return [
        name
        for name, module in model.named_modules()
        if name
        and hasattr(module, "reset_parameters")
        and any(True for _ in module.parameters(recurse=False))
    ]


def cascading_randomization(model, images, explain, *, layers=None, seed: int = 42, device=None):
    """Cascading model-parameter randomisation: re-initialise layers from the top down, one more
    at a time, and compare each explanation with the original one.

    Works on a deep copy: the given model (parameters, training flags, device) is left as it was.
    Layers are modules with their own parameters and ``reset_parameters`` (as Quantus ``MPRT``),
    randomised in reverse registration order (output first); before resetting layer k,
    ``torch.manual_seed(seed + k)``. Maps are compared after taking absolute values and dividing
    by their maximum: Spearman rank correlation of the flattened maps (NaN when a map is
    constant) and :func:`ssim`. A sane method's scores fall as layers are randomised.

    Args:
        model: a ``torch.nn.Module``.
        images: ``(B, C, H, W)`` tensor.
        explain: ``explain(model, images) -> (B, H, W)`` maps (tensor or array), e.g.
            ``lambda m, x: xk.explain(m, x, method="gradcam", layers=[...]).maps[...]``.
        layers: names of the layers to randomise, in the order given; ``None`` = all, top-down.
        seed: base seed of the re-initialisation.
        device: where the copy runs (``None``: ``xaikit.device()``).

    Returns:
        ``pandas.DataFrame`` with one row per (layer, image): ``step`` (1 = top layer only),
        ``layer`` (the last randomised layer), ``sample``, ``spearman``, ``ssim``.

    Examples:
        >>> import torch
        >>> from xaikit.metrics.sanity import cascading_randomization
        >>> conv = torch.nn.Conv2d
        >>> model = torch.nn.Sequential(conv(1, 2, 3, padding=1), conv(2, 1, 1))
        >>> explain = lambda m, x: m(x)[:, 0].detach()
        >>> table = cascading_randomization(model, torch.rand(2, 1, 8, 8), explain, device="cpu")
        >>> table[["step", "layer", "sample"]].values.tolist()
        [[1, '1', 0], [1, '1', 1], [2, '0', 0], [2, '0', 1]]
    """
    import pandas as pd
    import torch
    from scipy.stats import spearmanr
    from tqdm.auto import tqdm

    import xaikit

    images = as_images(images)
    run_device = xaikit.device(device)
    copied = copy.deepcopy(model).to(run_device)
    available = _randomisable_layers(copied)
    if layers is None:
        layers = available[::-1]
    unknown = [name for name in layers if name not in available]
    if unknown:
        raise ValueError(f"layers {unknown} cannot be randomised; choose from {available}")
    if not layers:
        raise ValueError("the model has no layer with parameters and reset_parameters")
    images = images.to(run_device)

    def maps_of(network):
        maps = np.asarray(to_numpy(explain(network, images)), dtype=np.float64)
        if maps.ndim != 3 or maps.shape[0] != images.shape[0]:
            raise ValueError(f"explain must return maps (B, H, W); got shape {maps.shape}")
        return _normalised(maps)

    original = maps_of(copied)
    modules = dict(copied.named_modules())
    rows = []
    for step, name in enumerate(tqdm(layers, desc="randomising", leave=False), start=1):
        torch.manual_seed(seed + step)
        modules[name].reset_parameters()
        randomised = maps_of(copied)
        for sample in range(original.shape[0]):
            a, b = original[sample], randomised[sample]
            constant = np.ptp(a) == 0 or np.ptp(b) == 0
            rank = np.nan if constant else float(spearmanr(a.ravel(), b.ravel())[0])
            rows.append(
                {
                    "step": step,
                    "layer": name,
                    "sample": sample,
                    "spearman": rank,
                    "ssim": ssim(a, b),
                }
            )
    return pd.DataFrame(rows, columns=["step", "layer", "sample", "spearman", "ssim"])
