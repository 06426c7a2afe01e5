"""Does the model depend on what the map highlights? Deletion and insertion AUC (RISE), average
drop and increase in confidence (Grad-CAM++), ROAD MoRF / LeRF (Rong et al. 2022).

Each function takes a classifier returning logits, images ``(B, C, H, W)`` (as the model expects
them, normalised) and maps ``(B, H, W)`` at input resolution. Scores are softmax probabilities
of ``target`` (``None``: the top-1 class on the unperturbed image). The model runs in eval mode
under ``torch.no_grad`` on its own device, in batches of ``batch_size``; its training flags are
restored afterwards and its parameters are never touched.
"""

from __future__ import annotations

import numpy as np

from xaikit._arrays import minmax
from xaikit.metrics._inputs import check_choice, has_nan
from xaikit.metrics._model import (
    as_images,
    as_saliency_for,
    class_probabilities,
    evaluating,
    resolve_targets,
    run_device,
)

__all__ = [
    "CAUSAL_CONVENTIONS",
    "average_drop",
    "deletion_auc",
    "increase_in_confidence",
    "insertion_auc",
    "road",
]


def _descending_ranks(saliency: np.ndarray, rng=None) -> np.ndarray:
    """``(B, H*W)`` rank of each pixel by descending saliency (0 = most salient); ties keep
    row-major order, or are broken by ``rng`` noise of 1e-4 of the map's range (ROAD)."""
    flat = saliency.reshape(saliency.shape[0], -1)
    if rng is not None:
        span = np.ptp(flat, axis=1, keepdims=True)
        flat = flat + 1e-4 * np.where(span > 0, span, 1) * rng.standard_normal(flat.shape)
    order = np.argsort(-flat, axis=1, kind="stable")
    ranks = np.empty_like(order)
    np.put_along_axis(ranks, order, np.arange(flat.shape[1])[None], axis=1)
    return ranks


def _blurred(images):
    """RISE's insertion substrate: per-channel Gaussian blur, ``gkern(klen=11, nsig=5)``."""
    import torch
    from scipy.ndimage import gaussian_filter

    delta = np.zeros((11, 11))
    delta[5, 5] = 1
    kernel = torch.as_tensor(gaussian_filter(delta, 5), dtype=images.dtype)
    channels = images.shape[1]
    weight = kernel.expand(channels, 1, 11, 11).contiguous()
    return torch.nn.functional.conv2d(images, weight, padding=5, groups=channels)


#: Integration rules of the deletion and insertion curves.
CAUSAL_CONVENTIONS = ("rise", "torch-cam")


def _curve_auc(curves: np.ndarray, counts: np.ndarray, n_pixels: int, convention: str):
    """Trapezoid AUC of ``(B, steps + 1)`` curves recorded after ``counts`` pixels changed.

    ``"rise"``: the points are taken as evenly spaced on [0, 1] (RISE's ``auc``), also when
    the last step changes fewer pixels than the others; ``"torch-cam"``: over the actual
    fractions min(count, N) / N (``DeletionInsertionMetric``).
    """
    if convention == "torch-cam":
        return np.trapezoid(curves, np.minimum(counts, n_pixels) / n_pixels, axis=1)
    intervals = curves.shape[1] - 1
    return (curves.sum(axis=1) - curves[:, 0] / 2 - curves[:, -1] / 2) / intervals


def _causal_curves(
    model, images, saliency, *, insert, target, n_steps, batch_size, device, substrate, convention
):
    import torch

    check_choice(convention, "convention", CAUSAL_CONVENTIONS)
    images = as_images(images)
    maps = as_saliency_for(images, saliency)
    if int(n_steps) != n_steps or n_steps < 1:
        raise ValueError(f"n_steps must be a positive integer; got {n_steps!r}")
    n_pixels = maps[0].size
    step = int(np.ceil(n_pixels / n_steps))
    n_steps = int(np.ceil(n_pixels / step))
    if substrate is None:
        substrate = _blurred(images) if insert else torch.zeros_like(images)
    substrate = torch.as_tensor(substrate, dtype=images.dtype).expand_as(images)
    start, finish = (substrate, images) if insert else (images, substrate)
    ranks = torch.as_tensor(_descending_ranks(maps)).reshape(maps.shape)
    device = run_device(model, device)
    with evaluating(model):
        targets = resolve_targets(model, images, target, device)
        per_image = n_steps + 1

        def make_inputs(first, stop):
            index = torch.arange(first, stop)
            image, k = index // per_image, index % per_image
            changed = (ranks[image] < (k * step)[:, None, None])[:, None]
            return torch.where(changed, finish[image], start[image])

        count = images.shape[0] * per_image
        scores = class_probabilities(
            model,
            make_inputs,
            count,
            targets.repeat_interleave(per_image),
            device,
            batch_size,
            "insertion" if insert else "deletion",
        )
    curves = scores.reshape(images.shape[0], per_image)
    counts = step * np.arange(per_image)
    return _curve_auc(curves, counts, n_pixels, convention), curves


def deletion_auc(
    model,
    images,
    saliency,
    target=None,
    *,
    n_steps=224,
    substrate=None,
    batch_size=64,
    device=None,
    return_curves=False,
    convention="rise",
):
    """Deletion AUC (RISE, Petsiuk et al. 2018): remove pixels most salient first; lower is better.

    RISE convention (``evaluation.py``): pixels ordered by descending saliency (ties in row-major
    order); ``step = ceil(H W / n_steps)`` pixels per step (224 for 224x224, as RISE) are replaced
    by the substrate (zeros of the normalised input by default, i.e. the mean colour); the
    probability is recorded before each step and once all pixels are gone (n_steps + 1 points,
    n_steps recomputed as ceil(H W / step)); AUC by the trapezoid rule with the points evenly
    spaced on [0, 1] (``convention="rise"``). ``convention="torch-cam"`` integrates over the
    actual fractions of pixels changed, 0, step, 2 step, ..., H W (torch-cam's
    ``DeletionInsertionMetric``): the two differ when ``step`` does not divide H W (the last
    step is shorter). torch-cam records the raw class score; here it is the softmax
    probability.

    Args:
        model: classifier returning logits ``(B, classes)``.
        images: ``(B, C, H, W)`` tensor.
        saliency: ``(B, H, W)`` maps at input resolution.
        target: ``None`` (top-1), a class, or one class per image.
        n_steps: number of steps.
        substrate: ``(B, C, H, W)`` or broadcastable replacement values (default zeros).
        batch_size: forwards per batch.
        device: ``None`` (the model's device) or the device the model is on.
        return_curves: also return the ``(B, n_steps + 1)`` probability curves.
        convention: ``"rise"`` (evenly spaced points) or ``"torch-cam"`` (actual fractions).

    Returns:
        ``(B,)`` AUC in [0, 1] (and the curves when asked).

    Examples:
        >>> import torch
        >>> from xaikit.metrics.faithfulness import deletion_auc
        >>> model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(4, 2))
        >>> _ = torch.nn.init.zeros_(model[1].bias)
        >>> with torch.no_grad():
        ...     _ = model[1].weight.copy_(torch.tensor([[4.0, 0, 0, 0], [0, 0, 0, 0]]))
        >>> image = torch.tensor([[[[1.0, 0], [0, 0]]]])
        >>> good, bad = torch.tensor([[[1.0, 0], [0, 0]]]), torch.tensor([[[0.0, 0], [0, 1]]])
        >>> deletion_auc(model, image, good, n_steps=4) < deletion_auc(model, image, bad, n_steps=4)
        array([ True])
    """
    auc, curves = _causal_curves(
        model,
        images,
        saliency,
        insert=False,
        target=target,
        n_steps=n_steps,
        batch_size=batch_size,
        device=device,
        substrate=substrate,
        convention=convention,
    )
    return (auc, curves) if return_curves else auc


def insertion_auc(
    model,
    images,
    saliency,
    target=None,
    *,
    n_steps=224,
    substrate=None,
    batch_size=64,
    device=None,
    return_curves=False,
    convention="rise",
):
    """Insertion AUC (RISE): restore pixels most salient first onto a blurred copy; higher is
    better.

    As :func:`deletion_auc`, starting from the substrate (default: the image blurred per channel
    with RISE's ``gkern(11, 5)`` kernel, zero padding) and copying the image's pixels in;
    ``convention`` as there (torch-cam starts insertion from its baseline, zeros by default:
    pass ``substrate=0`` to reproduce it).

    Args:
        model: classifier returning logits.
        images: ``(B, C, H, W)`` tensor.
        saliency: ``(B, H, W)`` maps at input resolution.
        target: ``None`` (top-1), a class, or one class per image.
        n_steps: number of steps.
        substrate: starting images (default: blurred).
        batch_size: forwards per batch.
        device: ``None`` (the model's device) or the device the model is on.
        return_curves: also return the ``(B, n_steps + 1)`` curves.
        convention: ``"rise"`` (evenly spaced points) or ``"torch-cam"`` (actual fractions).

    Returns:
        ``(B,)`` AUC in [0, 1] (and the curves when asked).

    Examples:
        >>> import torch
        >>> from xaikit.metrics.faithfulness import insertion_auc
        >>> model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(4, 2))
        >>> image = torch.rand(1, 1, 2, 2)
        >>> insertion_auc(model, image, torch.rand(1, 2, 2), n_steps=4).shape
        (1,)
    """
    auc, curves = _causal_curves(
        model,
        images,
        saliency,
        insert=True,
        target=target,
        n_steps=n_steps,
        batch_size=batch_size,
        device=device,
        substrate=substrate,
        convention=convention,
    )
    return (auc, curves) if return_curves else auc


def _confidences(model, images, saliency, target, batch_size, device):
    """Probabilities on the images and on the images times their min-max normalised maps."""
    import torch

    images = as_images(images)
    maps = as_saliency_for(images, saliency)
    scaled = minmax(maps)  # the one normalisation: a constant map becomes zeros
    scaled[has_nan(maps)] = 0.0  # torch-cam: a map with a NaN is all zeros
    scaled = np.nan_to_num(scaled, nan=0.0)  # (infinite entries: zero too)
    masked = images * torch.as_tensor(scaled, dtype=images.dtype)[:, None]
    both = torch.cat([images, masked])
    device = run_device(model, device)
    with evaluating(model):
        targets = resolve_targets(model, images, target, device)
        scores = class_probabilities(
            model,
            lambda a, b: both[a:b],
            both.shape[0],
            targets.repeat(2),
            device,
            batch_size,
            "confidence",
        )
    return scores[: images.shape[0]], scores[images.shape[0] :]


def average_drop(model, images, saliency, target=None, *, batch_size=64, device=None) -> float:
    """Average drop in confidence, in % (Grad-CAM++, Chattopadhyay et al. 2018); lower is better.

    100 / N * sum max(0, Y_i - O_i) / Y_i, Y the probability on the image, O on the image
    multiplied pixel-wise by its min-max normalised map (constant or NaN maps count as all-zero,
    as torch-cam). Dividing by Y follows the paper (pytorch-grad-cam's ``DropInConfidence`` does
    not).

    Args:
        model: classifier returning logits.
        images: ``(B, C, H, W)`` tensor.
        saliency: ``(B, H, W)`` maps at input resolution.
        target: ``None`` (top-1), a class, or one class per image.
        batch_size: forwards per batch.
        device: ``None`` (the model's device) or the device the model is on.

    Returns:
        Average drop in [0, 100].

    Examples:
        >>> import torch
        >>> from xaikit.metrics.faithfulness import average_drop
        >>> model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(4, 2, bias=False))
        >>> with torch.no_grad():  # class 0 looks at the top-left pixel only
        ...     _ = model[1].weight.copy_(torch.tensor([[4.0, 0, 0, 0], [0, 0, 0, 0]]))
        >>> image = torch.ones(1, 1, 2, 2)
        >>> average_drop(model, image, torch.eye(2)[None])  # keeps the top-left pixel
        0.0
        >>> round(average_drop(model, image, 1 - torch.eye(2)[None]), 2)  # 100 (1 - 0.5 / sigm(4))
        49.08
    """
    original, masked = _confidences(model, images, saliency, target, batch_size, device)
    return float(100 * np.mean(np.maximum(0.0, original - masked) / original))


def increase_in_confidence(
    model, images, saliency, target=None, *, batch_size=64, device=None
) -> float:
    """Increase in confidence, in %: share of images whose probability rises on the masked image.

    100 / N * sum [Y_i < O_i] (Grad-CAM++), with Y and O as in :func:`average_drop`.

    Args:
        model: classifier returning logits.
        images: ``(B, C, H, W)`` tensor.
        saliency: ``(B, H, W)`` maps at input resolution.
        target: ``None`` (top-1), a class, or one class per image.
        batch_size: forwards per batch.
        device: ``None`` (the model's device) or the device the model is on.

    Returns:
        Percentage in [0, 100].

    Examples:
        >>> import torch
        >>> from xaikit.metrics.faithfulness import increase_in_confidence
        >>> model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(4, 2, bias=False))
        >>> with torch.no_grad():  # class 0 is pushed down by the bottom-right pixel
        ...     _ = model[1].weight.copy_(torch.tensor([[4.0, 0, 0, -1], [0, 0, 0, 0]]))
        >>> top_left = torch.tensor([[[1.0, 0], [0, 0]]])
        >>> increase_in_confidence(model, torch.ones(1, 1, 2, 2), top_left)
        100.0
    """
    original, masked = _confidences(model, images, saliency, target, batch_size, device)
    return float(100 * np.mean(original < masked))


def _impute(image: np.ndarray, removed: np.ndarray, noise: float, rng) -> np.ndarray:
    """ROAD's noisy linear imputation: each removed pixel is the weighted mean of its 8
    neighbours (1/6 for edge neighbours, 1/12 for corners), solved jointly as a sparse linear
    system per channel, plus Gaussian noise of std ``noise``."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.linalg import spsolve

    height, width = removed.shape
    unknown = np.full(removed.shape, -1)
    ys, xs = np.nonzero(removed)
    unknown[ys, xs] = np.arange(ys.size)
    if ys.size == 0:
        return image.copy()
    rows, columns, values = [], [], []
    diagonal = np.zeros(ys.size)
    right_side = np.zeros((ys.size, image.shape[0]))
    for dy, dx, weight in [
        (dy, dx, 1 / 12 if dy and dx else 1 / 6)
        for dy in (-1, 0, 1)
        for dx in (-1, 0, 1)
        if dy or dx
    ]:
        ny, nx = ys + dy, xs + dx
        inside = (ny >= 0) & (ny < height) & (nx >= 0) & (nx < width)
        diagonal[inside] += weight
        own = np.nonzero(inside)[0]
        neighbour = unknown[ny[inside], nx[inside]]
        is_unknown = neighbour >= 0
        rows.append(own[is_unknown])
        columns.append(neighbour[is_unknown])
        values.append(np.full(is_unknown.sum(), -weight))
        known = own[~is_unknown]
        right_side[known] += weight * image[:, ny[inside][~is_unknown], nx[inside][~is_unknown]].T
    index = np.arange(ys.size)
    matrix = coo_matrix(
        (
            np.concatenate([diagonal, *values]),
            (np.concatenate([index, *rows]), np.concatenate([index, *columns])),
        ),
        shape=(ys.size, ys.size),
    ).tocsc()
    solved = spsolve(matrix, right_side).reshape(ys.size, -1)
    filled = image.copy()
    filled[:, ys, xs] = (solved + noise * rng.standard_normal(solved.shape)).T
    return filled


def road(
    model,
    images,
    saliency,
    target=None,
    *,
    fractions=(0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9),
    order: str = "morf",
    noise: float = 0.01,
    seed: int = 0,
    batch_size=64,
    device=None,
) -> np.ndarray:
    """ROAD: probability after removing a fraction of pixels by noisy linear imputation.

    Rong et al. 2022 (``tleemann/road_evaluation``): pixels ordered by descending saliency with a
    seeded 1e-4 tie-breaking noise; for each fraction p, ``floor(p * H * W)`` pixels are removed
    and imputed (see :func:`_impute`): the most relevant (``order="morf"``, a steep fall is good)
    or the least relevant (``"lerf"``, a flat curve is good). Here p is always the fraction
    *removed* (the original code's LeRF fraction counts the pixels kept; pytorch-grad-cam's
    ``percentile`` counts the pixels kept for both). Scores are softmax probabilities of the
    target class, not accuracies.

    Args:
        model: classifier returning logits.
        images: ``(B, C, H, W)`` tensor.
        saliency: ``(B, H, W)`` maps at input resolution.
        target: ``None`` (top-1), a class, or one class per image.
        fractions: fractions of pixels removed, in [0, 1].
        order: ``"morf"`` (most relevant first) or ``"lerf"`` (least relevant first).
        noise: std of the imputation noise (in input units).
        seed: seed of the tie-breaker and the noise.
        batch_size: forwards per batch.
        device: ``None`` (the model's device) or the device the model is on.

    Returns:
        ``(B, P)`` probabilities, one column per fraction.

    Examples:
        >>> import torch
        >>> from xaikit.metrics.faithfulness import road
        >>> model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(16, 2))
        >>> road(model, torch.rand(1, 1, 4, 4), torch.rand(1, 4, 4), fractions=[0.25, 0.5]).shape
        (1, 2)
    """
    import torch

    check_choice(order, "order", ("morf", "lerf"))
    fractions = np.atleast_1d(np.asarray(fractions, dtype=np.float64))
    if fractions.size == 0 or (fractions < 0).any() or (fractions > 1).any():
        raise ValueError(f"fractions must be values in [0, 1]; got {fractions}")
    images = as_images(images)
    maps = as_saliency_for(images, saliency)
    rng = np.random.default_rng(seed)
    ranks = _descending_ranks(maps, rng).reshape(maps.shape)
    if order == "lerf":
        ranks = maps[0].size - 1 - ranks
    pixels = images.detach().cpu().double().numpy()
    imputed = [
        _impute(pixels[b], ranks[b] < int(np.floor(p * maps[0].size)), noise, rng)
        for b in range(images.shape[0])
        for p in fractions
    ]
    inputs = torch.as_tensor(np.stack(imputed), dtype=images.dtype)
    device = run_device(model, device)
    with evaluating(model):
        targets = resolve_targets(model, images, target, device)
        scores = class_probabilities(
            model,
            lambda a, b: inputs[a:b],
            inputs.shape[0],
            targets.repeat_interleave(fractions.size),
            device,
            batch_size,
            "ROAD",
        )
    return scores.reshape(images.shape[0], fractions.size)
