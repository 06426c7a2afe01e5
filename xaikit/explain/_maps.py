"""Map helpers shared by every method: resizing, abs-max normalisation, channel SVD.

Min-max normalisation is :func:`xaikit._arrays.minmax`, the one of the whole package.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def upsample(
    tensor: torch.Tensor, size: tuple[int, ...], align_corners: bool = False
) -> torch.Tensor:
    """Resize ``(B, C, *S)`` to ``(B, C, *size)``: bilinear for 2D, trilinear for 3D.

    A ``(B, *S)`` map (no channel axis) is resized the same way and returned without one.
    Half-pixel centres (``align_corners=False``) match OpenCV's ``cv2.resize``.
    """
    squeeze = tensor.ndim == len(size) + 1
    if squeeze:
        tensor = tensor.unsqueeze(1)
    if tuple(tensor.shape[2:]) != tuple(size):
        mode = {1: "linear", 2: "bilinear", 3: "trilinear"}[len(size)]
        tensor = F.interpolate(tensor, size=size, mode=mode, align_corners=align_corners)
    return tensor.squeeze(1) if squeeze else tensor


def absmax(maps: torch.Tensor) -> torch.Tensor:
    """``|map| / max |map|`` per sample, for signed pixel attributions; all-zero stays zero."""
    magnitude = maps.abs()
    top = magnitude.reshape(maps.shape[0], -1).nan_to_num(nan=0.0).amax(dim=1)
    top = top.reshape(-1, *([1] * (maps.ndim - 1)))
    return torch.where(top > 0, magnitude / top.clamp_min(torch.finfo(maps.dtype).tiny), 0.0)


def spatial_sum(tensor: torch.Tensor) -> torch.Tensor:
    """Sum ``(B, C, *S)`` over every spatial axis, keeping them as size 1 for broadcasting."""
    return tensor.sum(dim=tuple(range(2, tensor.ndim)), keepdim=True)


def first_component(
    features: torch.Tensor, center: bool, orient_like: torch.Tensor | None = None
) -> torch.Tensor:
    """Project ``(B, C, *S)`` features on their first principal direction over channels.

    Each sample is read as an ``(S, C)`` matrix ``M`` (positions x channels), optionally
    centred per channel, and multiplied by its first right singular vector ``v``. ``v`` comes
    from the eigen-decomposition of the smaller Gram matrix, ``M^T M`` (C x C) or ``M M^T``
    (S x S, then ``v ~ M^T u``), batched over samples: the same vector as a full SVD of
    ``M``, at a fraction of the cost (see :func:`_top_right_singular_vectors`). A singular
    vector's sign is arbitrary (LAPACK builds differ); with ``orient_like`` (a ``(B, *S)``
    map) the sign is fixed so that the projection correlates non-negatively with it (the
    polarity check of Hessian-CIAM's Eq. 3).

    Returns:
        ``(B, *S)`` projections.

    Examples:
        >>> import torch
        >>> features = torch.tensor([[[[0.0, 3.0, 6.0]], [[0.0, 4.0, 8.0]]]])  # (1, 2, 1, 3)
        >>> first_component(features, center=True, orient_like=features.sum(dim=1)).round(
        ...     decimals=4).tolist()   # centred rows (-3, -4), (0, 0), (3, 4) on (3, 4) / 5
        [[[-5.0, 0.0, 5.0]]]
    """
    batch, channels = features.shape[:2]
    matrix = features.reshape(batch, channels, -1).nan_to_num(nan=0.0)  # (B, C, S): M^T
    if center:
        matrix = matrix - matrix.mean(dim=2, keepdim=True)
    direction = _top_right_singular_vectors(matrix)  # (B, C)
    projection = (direction.unsqueeze(1) @ matrix).squeeze(1)  # (B, S)
    if orient_like is not None:
        flip = pearson(projection, orient_like.reshape(batch, -1).to(projection.dtype)) < 0
        projection = torch.where(flip[:, None], -projection, projection)
    return projection.reshape(batch, *features.shape[2:])


def _top_right_singular_vectors(transposed: torch.Tensor) -> torch.Tensor:
    """First right singular vector ``(B, C)`` of each ``M`` given as ``M^T`` ``(B, C, S)``.

    Everything runs in the features' dtype. For the *first* singular vector this is as
    accurate as an SVD of ``M`` in that dtype: both perturb it by about
    ``eps * s1 / (s1 - s2)`` (squaring ``M`` only hurts the small singular values, which are
    not used).
    """
    channels, positions = transposed.shape[1:]
    if channels <= positions:
        return _top_eigenvector(transposed @ transposed.transpose(1, 2))
    left = _top_eigenvector(transposed.transpose(1, 2) @ transposed)  # (B, S)
    right = (transposed @ left.unsqueeze(-1)).squeeze(-1)  # M^T u = s1 v
    return right / right.norm(dim=1, keepdim=True).clamp_min(torch.finfo(right.dtype).tiny)


def _top_eigenvector(gram: torch.Tensor) -> torch.Tensor:
    """Eigenvector ``(B, N)`` of the largest eigenvalue of each symmetric ``(B, N, N)``.

    Above :data:`_DENSE_SIZE` rows, subspace iteration in float64 (:func:`_iterated_top`) finds
    it in a few dozen cheap products when the top eigenvalue stands apart, as it does in
    feature maps; a sample where it does not converge takes the full decomposition.
    """
    if gram.shape[-1] <= _DENSE_SIZE:
        return _dense_top(gram)
    vectors, converged = _iterated_top(gram.double())
    vectors = vectors.to(gram.dtype)
    if not bool(converged.all()):
        vectors[~converged] = _dense_top(gram[~converged])
    return vectors


_DENSE_SIZE = 128


def _dense_top(gram: torch.Tensor) -> torch.Tensor:
    _, vectors = torch.linalg.eigh(gram)  # ascending eigenvalues
    return vectors[..., -1]


def _iterated_top(
    gram: torch.Tensor, block: int = 4, rounds: int = 16, steps: int = 3
) -> tuple[torch.Tensor, torch.Tensor]:
    """Top unit eigenvector ``(B, N)`` of each symmetric positive semi-definite ``(B, N, N)``
    by subspace iteration on ``block`` vectors from a fixed start, with a Rayleigh-Ritz step
    every ``steps`` products, and whether it converged (``|G v - l v| <= 1e-10 l``)."""
    batch, size, _ = gram.shape
    start = torch.randn(size, block, generator=torch.Generator().manual_seed(0), dtype=gram.dtype)
    basis = torch.linalg.qr(start.to(gram.device).expand(batch, -1, -1)).Q
    for _ in range(rounds):
        for _ in range(steps):
            basis = torch.linalg.qr(gram @ basis).Q
        image = gram @ basis
        values, rotation = torch.linalg.eigh(basis.transpose(1, 2) @ image)
        vectors = (basis @ rotation[..., -1:]).squeeze(-1)
        top = values[:, -1:]
        residual = (image @ rotation[..., -1:]).squeeze(-1) - top * vectors
        converged = residual.norm(dim=1) <= 1e-10 * top[:, 0].abs()
        if bool(converged.all()):
            break
    return vectors, converged


def pearson(first: torch.Tensor, second: torch.Tensor) -> torch.Tensor:
    """Pearson correlation of each row of two ``(B, N)`` tensors; 0 where a row is constant."""
    first = first - first.mean(dim=1, keepdim=True)
    second = second - second.mean(dim=1, keepdim=True)
    denominator = first.norm(dim=1) * second.norm(dim=1)
    return torch.where(denominator > 0, (first * second).sum(dim=1) / denominator, 0.0)
