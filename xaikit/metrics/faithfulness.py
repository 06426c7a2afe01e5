"""Does the model depend on what the map highlights? Deletion and insertion AUC (RISE), average
drop and increase in confidence (Grad-CAM++), ROAD MoRF / LeRF (Rong et al. 2022), and
pytorch-grad-cam's per-image metrics: confidence change, drop in confidence, ROAD at percentile
thresholds and combined, complexity, coherency (ADCC) and ARCC.

Each function takes a classifier returning logits, images ``(B, C, H, W)`` (as the model expects
them, normalised) and maps ``(B, H, W)`` at input resolution. Scores are softmax probabilities
of ``target`` (``None``: the top-1 class on the unperturbed image). The model runs in eval mode
under ``torch.no_grad`` on its own device, in batches of ``batch_size``; its training flags are
restored afterwards and its parameters are never touched. :func:`coherency` and :func:`arcc`
also call an explainer on the masked images (with gradients, as explaining needs them).
pytorch-grad-cam's scores are its targets' outputs: ``ClassifierOutputSoftmaxTarget`` gives
these probabilities.
"""

from __future__ import annotations

import numpy as np

from xaikit._arrays import minmax, to_numpy
from xaikit.metrics._inputs import as_maps, check_choice, check_finite_maps, has_nan, unstack
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
    "ROAD_PERCENTILES",
    "arcc",
    "average_drop",
    "coherency",
    "complexity",
    "confidence_change",
    "deletion_auc",
    "drop_in_confidence",
    "increase_in_confidence",
    "insertion_auc",
    "road",
    "road_combined",
    "road_percentiles",
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


def _confidences(model, images, saliency, target, batch_size, device, rescale=True):
    """Probabilities on the images and on the images times their maps, min-max normalised
    (``rescale``) or as given (pytorch-grad-cam's ``multiply_tensor_with_cam``)."""
    import torch

    images = as_images(images)
    maps = as_saliency_for(images, saliency)
    if rescale:
        scaled = minmax(maps)  # the one normalisation: a constant map becomes zeros
        scaled[has_nan(maps)] = 0.0  # torch-cam: a map with a NaN is all zeros
        scaled = np.nan_to_num(scaled, nan=0.0)  # (infinite entries: zero too)
    else:
        check_finite_maps(maps, "saliency")
        scaled = maps
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
    not: it is :func:`drop_in_confidence`, per image, on the map as given).

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

    100 / N * sum [Y_i < O_i] (Grad-CAM++), with Y and O as in :func:`average_drop`: 100 times
    the mean of pytorch-grad-cam's per-image ``IncreaseInConfidence`` (``confidence_change(...)
    > 0``), which multiplies by the map as given (the same for maps already min-max
    normalised, as :func:`xaikit.explain` returns them).

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
    system per channel, plus Gaussian noise of std ``noise`` drawn by ``rng.standard_normal``
    (a numpy generator, or :class:`_TorchNormal` for pytorch-grad-cam's torch noise)."""
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


# pytorch-grad-cam's metrics (``pytorch_grad_cam.metrics``, 1.5.7): per image, maps as given.


def confidence_change(
    model, images, saliency, target=None, *, batch_size=64, device=None
) -> np.ndarray:
    """Change in confidence when the image is multiplied by its map: O_i - Y_i per image.

    pytorch-grad-cam's ``CamMultImageConfidenceChange`` (the ``image * cam`` perturbation of
    Grad-CAM++'s average drop, Chattopadhyay et al. 2018): Y the probability on the image, O on
    the image multiplied pixel-wise (every channel) by its map *as given* (no normalisation,
    unlike :func:`average_drop`; pass maps in [0, 1], as :func:`xaikit.explain` returns them).
    Negative: the map leaves out evidence. Two forwards per image, ``batch_size`` at a time.

    Args:
        model: classifier returning logits.
        images: ``(B, C, H, W)`` tensor.
        saliency: ``(B, H, W)`` finite maps at input resolution.
        target: ``None`` (top-1), a class, or one class per image.
        batch_size: forwards per batch.
        device: ``None`` (the model's device) or the device the model is on.

    Returns:
        ``(B,)`` probability differences in [-1, 1].

    Examples:
        >>> import torch
        >>> from xaikit.metrics.faithfulness import confidence_change
        >>> model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(4, 2, bias=False))
        >>> with torch.no_grad():  # class 0 looks at the top-left pixel only
        ...     _ = model[1].weight.copy_(torch.tensor([[4.0, 0, 0, 0], [0, 0, 0, 0]]))
        >>> image = torch.ones(1, 1, 2, 2)
        >>> confidence_change(model, image, torch.eye(2)[None])  # keeps the top-left pixel
        array([0.])
        >>> half = torch.full((1, 2, 2), 0.5)  # logit 4 -> 2
        >>> confidence_change(model, image, half).round(4)  # sigm(2) - sigm(4)
        array([-0.1012])
    """
    original, masked = _confidences(model, images, saliency, target, batch_size, device, False)
    return masked - original


def drop_in_confidence(
    model, images, saliency, target=None, *, batch_size=64, device=None
) -> np.ndarray:
    """Drop in confidence per image, max(0, Y_i - O_i): pytorch-grad-cam's ``DropInConfidence``.

    Y and O as in :func:`confidence_change` (the map as given). Unlike :func:`average_drop`
    (the paper's Grad-CAM++ definition, also torch-cam's) it is not divided by Y, not in % and
    not averaged: ``100 * mean(drop / Y)`` is the average drop for maps in [0, 1] with
    min 0 and max 1. Lower is better.

    Args:
        model: classifier returning logits.
        images: ``(B, C, H, W)`` tensor.
        saliency: ``(B, H, W)`` finite maps at input resolution.
        target: ``None`` (top-1), a class, or one class per image.
        batch_size: forwards per batch.
        device: ``None`` (the model's device) or the device the model is on.

    Returns:
        ``(B,)`` drops in [0, 1].

    Examples:
        >>> import torch
        >>> from xaikit.metrics.faithfulness import drop_in_confidence
        >>> model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(4, 2, bias=False))
        >>> with torch.no_grad():
        ...     _ = model[1].weight.copy_(torch.tensor([[4.0, 0, 0, 0], [0, 0, 0, 0]]))
        >>> drop_in_confidence(model, torch.ones(1, 1, 2, 2), torch.full((1, 2, 2), 0.5)).round(4)
        array([0.1012])
    """
    return np.maximum(
        0.0,
        -confidence_change(model, images, saliency, target, batch_size=batch_size, device=device),
    )


#: pytorch-grad-cam's percentile sweep of the ROAD averages (``AveragerAcrossThresholds``).
ROAD_PERCENTILES = (10, 20, 30, 40, 50, 60, 70, 80, 90)


class _TorchNormal:
    """Standard normal noise from a seeded torch generator, drawn as pytorch-grad-cam's
    ``NoisyLinearImputer`` draws it, so ``seed`` gives its numbers after
    ``torch.manual_seed(seed)``: ``torch.randn_like`` of the transposed ``(n, C)`` solution,
    which SuperLU returns column-major, i.e. one ``(C, n)`` block filled channel by channel."""

    def __init__(self, seed: int):
        import torch

        self.generator = torch.Generator().manual_seed(int(seed))

    def standard_normal(self, shape) -> np.ndarray:
        import torch

        count, channels = shape
        noise = torch.empty(channels, count).normal_(generator=self.generator)
        return noise.t().double().numpy()


def _check_percentiles(percentiles) -> np.ndarray:
    try:
        values = np.atleast_1d(np.asarray(percentiles, dtype=np.float64))
    except (TypeError, ValueError):
        values = None
    if (
        values is None
        or values.ndim != 1
        or values.size == 0
        or not ((values >= 0) & (values <= 100)).all()
    ):
        raise ValueError(
            "percentiles must be numbers in [0, 100] (pytorch-grad-cam's 'auto' Otsu threshold "
            f"is not supported); got {percentiles!r}"
        )
    return values


def _road_scores(model, images, maps, target, orders, percentiles, noise, seed, batch_size, device):
    """Probabilities ``(B,)`` on the images and ``(len(orders), B, P)`` after imputation.

    pytorch-grad-cam's removal rule: with v = the map (``"morf"``) or 1 - the map (``"lerf"``),
    the pixels with v >= ``np.percentile(v, p)`` are imputed (ties go together), so p counts
    the pixels kept. Noise is drawn percentile by percentile, image by image, order by order,
    as its averagers and ``ROADCombined`` (LeRF first) do.
    """
    import torch

    normal = _TorchNormal(seed)
    pixels = images.detach().cpu().double().numpy()
    imputed = []
    for order in orders:
        for percentile in percentiles:
            for image, saliency in zip(pixels, maps, strict=True):
                values = saliency if order == "morf" else 1 - saliency
                removed = values >= np.percentile(values, percentile)
                imputed.append(_impute(image, removed, noise, normal))
    inputs = torch.cat([images, torch.as_tensor(np.stack(imputed), dtype=images.dtype)])
    count = images.shape[0]
    device = run_device(model, device)
    with evaluating(model):
        targets = resolve_targets(model, images, target, device)
        scores = class_probabilities(
            model,
            lambda a, b: inputs[a:b],
            inputs.shape[0],
            targets.repeat(1 + len(orders) * percentiles.size),
            device,
            batch_size,
            "ROAD",
        )
    after = scores[count:].reshape(len(orders), percentiles.size, count).transpose(0, 2, 1)
    return scores[:count], after


def road_percentiles(
    model,
    images,
    saliency,
    target=None,
    *,
    percentiles=ROAD_PERCENTILES,
    order: str = "morf",
    noise: float = 0.01,
    seed: int = 0,
    change: bool = True,
    batch_size=64,
    device=None,
) -> np.ndarray:
    """ROAD at percentile thresholds, pytorch-grad-cam's ``ROADMostRelevantFirst`` /
    ``ROADLeastRelevantFirst`` (Rong et al. 2022), one column per percentile.

    For each percentile p, the pixels at or above the p-th percentile of the map (``"morf"``:
    about (100 - p) % of the most relevant) or of 1 - map (``"lerf"``: about (100 - p) % of
    the least relevant) are removed and imputed by ROAD's noisy linear imputation (the one of
    :func:`road`), noise of std ``noise`` from a torch generator seeded with ``seed`` (the
    numbers pytorch-grad-cam draws after ``torch.manual_seed(seed)``). Unlike :func:`road`
    (floor(f H W) pixels by rank, ties broken, f = fraction removed), p counts the pixels kept
    and tied pixels go together. The mean over the columns is ``ROAD*RelevantFirstAverage``
    (``AveragerAcrossThresholds``). MoRF: lower is better; LeRF: higher is better. One extra
    forward per image and percentile, ``batch_size`` at a time.

    Args:
        model: classifier returning logits.
        images: ``(B, C, H, W)`` tensor.
        saliency: ``(B, H, W)`` finite maps at input resolution, in [0, 1] for ``"lerf"``.
        target: ``None`` (top-1), a class, or one class per image.
        percentiles: thresholds in [0, 100] (default 10, 20, ..., 90).
        order: ``"morf"`` (most relevant first) or ``"lerf"`` (least relevant first).
        noise: std of the imputation noise (in input units).
        seed: seed of the noise.
        change: return the probability after minus before (pytorch-grad-cam's
            ``return_diff=True``); ``False``: the probability after.
        batch_size: forwards per batch.
        device: ``None`` (the model's device) or the device the model is on.

    Returns:
        ``(B, P)`` probability changes (or probabilities).

    Examples:
        >>> import torch
        >>> from xaikit.metrics.faithfulness import road_percentiles
        >>> model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(16, 2))
        >>> flat = torch.full((1, 1, 4, 4), 0.5)  # imputing a flat image gives it back
        >>> road_percentiles(model, flat, torch.rand(1, 4, 4), percentiles=[25, 75], noise=0.0)
        array([[0., 0.]])
    """
    check_choice(order, "order", ("morf", "lerf"))
    percentiles = _check_percentiles(percentiles)
    images = as_images(images)
    maps = as_saliency_for(images, saliency)
    check_finite_maps(maps, "saliency")
    before, after = _road_scores(
        model, images, maps, target, (order,), percentiles, noise, seed, batch_size, device
    )
    return after[0] - before[:, None] if change else after[0]


def road_combined(
    model,
    images,
    saliency,
    target=None,
    *,
    percentiles=ROAD_PERCENTILES,
    noise: float = 0.01,
    seed: int = 0,
    batch_size=64,
    device=None,
) -> np.ndarray:
    """(mean LeRF - mean MoRF) / 2 over the percentiles: pytorch-grad-cam's ``ROADCombined``.

    The two curves of :func:`road_percentiles` (Rong et al. 2022), LeRF drawn first then MoRF
    from one generator seeded with ``seed``; in [-0.5, 0.5], higher is better (removing the
    least relevant pixels keeps the score, removing the most relevant ones loses it).

    Args:
        model: classifier returning logits.
        images: ``(B, C, H, W)`` tensor.
        saliency: ``(B, H, W)`` finite maps at input resolution, in [0, 1].
        target: ``None`` (top-1), a class, or one class per image.
        percentiles: thresholds in [0, 100] (default 10, 20, ..., 90).
        noise: std of the imputation noise.
        seed: seed of the noise.
        batch_size: forwards per batch.
        device: ``None`` (the model's device) or the device the model is on.

    Returns:
        ``(B,)`` scores.

    Examples:
        >>> import torch
        >>> from xaikit.metrics.faithfulness import road_combined
        >>> model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(16, 2))
        >>> flat = torch.full((1, 1, 4, 4), 0.5)  # nothing to remove: LeRF = MoRF
        >>> road_combined(model, flat, torch.rand(1, 4, 4), noise=0.0)
        array([0.])
    """
    percentiles = _check_percentiles(percentiles)
    images = as_images(images)
    maps = as_saliency_for(images, saliency)
    check_finite_maps(maps, "saliency")
    _, (lerf, morf) = _road_scores(
        model, images, maps, target, ("lerf", "morf"), percentiles, noise, seed, batch_size, device
    )
    return (lerf.mean(axis=1) - morf.mean(axis=1)) / 2


def complexity(saliency):
    """Complexity of a map, mean |s| over its pixels (Poppi et al. 2021, ADCC): 0 for an
    all-zero map, 1 for an all-one map; lower is better. pytorch-grad-cam's ``Complexity``.

    Args:
        saliency: ``(H, W)`` or ``(B, H, W)`` finite maps.

    Returns:
        A float for one map, ``(B,)`` for a stack.

    Examples:
        >>> import numpy as np
        >>> from xaikit.metrics.faithfulness import complexity
        >>> complexity(np.array([[1.0, 0.0], [0.0, 0.0]])), complexity(np.array([[-1.0, 0.5]]))
        (0.25, 0.75)
    """
    maps, batched = as_maps(saliency, "saliency")
    check_finite_maps(maps, "saliency")
    return unstack(np.abs(maps).mean(axis=(1, 2)), batched)


def _pearson(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """Per-map Pearson correlation, 1e-8 added to the product of the standard deviations."""
    a = first.reshape(first.shape[0], -1)
    b = second.reshape(second.shape[0], -1)
    a = a - a.mean(axis=1, keepdims=True)
    b = b - b.mean(axis=1, keepdims=True)
    count = a.shape[1] - 1
    covariance = (a * b).sum(axis=1) / count
    spread = np.sqrt((a**2).sum(axis=1) / count) * np.sqrt((b**2).sum(axis=1) / count)
    return covariance / (spread + 1e-8)


def coherency(model, images, saliency, explainer, target=None, *, device=None) -> np.ndarray:
    """Coherency (Poppi et al. 2021, ADCC): does the map explain the image it keeps?

    (rho(explainer(image * map), map) + 1) / 2 per image, rho the Pearson correlation of the
    map recomputed on the image multiplied pixel-wise by its map (as given) with the map
    itself (pytorch-grad-cam's ``Coherency``: 1e-8 added to the product of the standard
    deviations). In [0, 1], higher is better. Costs one explainer call on the masked batch.

    Args:
        model: classifier returning logits (resolves ``target=None`` to the top-1 class).
        images: ``(B, C, H, W)`` tensor.
        saliency: ``(B, H, W)`` finite maps at input resolution.
        explainer: ``explainer(images, targets) -> (B, H, W)`` maps at input resolution,
            ``targets`` a ``(B,)`` long tensor of classes, e.g. ``lambda x, t: xk.explain(
            model, x, "gradcam", "layer4", t, progress=False).maps["layer4"]``.
        target: ``None`` (top-1), a class, or one class per image.
        device: ``None`` (the model's device) or the device the model is on.

    Returns:
        ``(B,)`` coherency values.

    Examples:
        >>> import torch
        >>> from xaikit.metrics.faithfulness import coherency
        >>> model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(4, 2))
        >>> heat = torch.tensor([[[1.0, 0.5], [0.0, 0.25]]])
        >>> same, flipped = (lambda x, t: heat), (lambda x, t: 1 - heat)
        >>> image = torch.ones(1, 1, 2, 2)
        >>> [coherency(model, image, heat, explainer).round(6) for explainer in (same, flipped)]
        [array([1.]), array([0.])]
    """
    import torch

    images = as_images(images)
    maps = as_saliency_for(images, saliency)
    check_finite_maps(maps, "saliency")
    masked = images * torch.as_tensor(maps, dtype=images.dtype, device=images.device)[:, None]
    with evaluating(model):
        targets = resolve_targets(model, images, target, run_device(model, device))
        again = np.asarray(to_numpy(explainer(masked, targets)), dtype=np.float64)
    if again.shape != maps.shape:
        raise ValueError(
            f"explainer must return (B, H, W) = {maps.shape} maps for the masked images; got "
            f"{again.shape}"
        )
    return (_pearson(again, maps) + 1) / 2


def arcc(
    model,
    images,
    saliency,
    explainer,
    target=None,
    *,
    percentiles=(20, 40, 60, 80),
    noise: float = 0.01,
    seed: int = 0,
    batch_size=64,
    device=None,
) -> np.ndarray:
    """ARCC (Domeniconi et al. 2026, "How to Evaluate and Refine your CAM"): one score of
    ROAD, coherency and complexity; pytorch-grad-cam's ``ARCC``.

    3 / (1 / (Coh + 1e-8) + 1 / (1 - Com + 1e-8) + 1 / (R + 1e-8)), the harmonic mean of
    :func:`coherency`, 1 - :func:`complexity` and R = clip(2 :func:`road_combined`, 0, 1)
    (ROAD over ``percentiles``), as pytorch-grad-cam 1.5.7 computes it (its docstring says
    geometric mean; the code is this harmonic mean). In [0, 1], higher is better. Costs the
    forwards of :func:`road_combined` and one explainer call.

    Args:
        model: classifier returning logits.
        images: ``(B, C, H, W)`` tensor.
        saliency: ``(B, H, W)`` finite maps at input resolution, in [0, 1].
        explainer: ``explainer(images, targets) -> (B, H, W)``, as in :func:`coherency`.
        target: ``None`` (top-1), a class, or one class per image.
        percentiles: ROAD thresholds in [0, 100] (default 20, 40, 60, 80).
        noise: std of the imputation noise.
        seed: seed of the noise (pytorch-grad-cam's numbers after ``torch.manual_seed``).
        batch_size: forwards per batch.
        device: ``None`` (the model's device) or the device the model is on.

    Returns:
        ``(B,)`` scores.

    Examples:
        >>> import torch
        >>> from xaikit.metrics.faithfulness import arcc
        >>> model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(16, 2))
        >>> flat, heat = torch.full((1, 1, 4, 4), 0.5), torch.rand(1, 4, 4)
        >>> arcc(model, flat, heat, lambda x, t: heat, noise=0.0).round(6)  # ROAD 0: ARCC 0
        array([0.])
    """
    images = as_images(images)
    maps = as_saliency_for(images, saliency)
    simple = complexity(maps)
    coherent = coherency(model, images, maps, explainer, target, device=device)
    removal = road_combined(
        model,
        images,
        maps,
        target,
        percentiles=percentiles,
        noise=noise,
        seed=seed,
        batch_size=batch_size,
        device=device,
    )
    removal = np.clip(2 * removal, 0, 1)  # ROAD's [-0.5, 0.5] onto [0, 1]
    return 3 / (1 / (coherent + 1e-8) + 1 / (1 - simple + 1e-8) + 1 / (removal + 1e-8))
