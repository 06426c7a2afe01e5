"""The top eigenvector behind every principal-component map, iterated and exact."""

import torch

from xaikit.explain import _maps


def _gram(size: int, gap: float) -> torch.Tensor:
    """Two symmetric positive definite matrices with a known top eigenvector and ``gap``."""
    generator = torch.Generator().manual_seed(0)
    basis = torch.linalg.qr(torch.randn(2, size, size, generator=generator)).Q
    values = torch.exp(-torch.arange(size - 1, -1, -1) / 10.0).repeat(2, 1)  # as feature maps
    values[:, -1] = values[:, -2] + gap
    return (basis * values[:, None, :]) @ basis.transpose(1, 2), basis[..., -1]


def _same_up_to_sign(first, second, tolerance):
    closest = torch.minimum((first - second).abs().amax(1), (first + second).abs().amax(1))
    return bool((closest <= tolerance).all())


def test_iteration_finds_the_top_eigenvector_of_a_large_matrix():
    gram, expected = _gram(300, gap=0.5)
    assert _same_up_to_sign(_maps._top_eigenvector(gram), expected, 1e-5)
    assert bool(_maps._iterated_top(gram.double())[1].all())


def test_a_matrix_the_iteration_cannot_settle_takes_the_full_decomposition(monkeypatch):
    gram, expected = _gram(300, gap=1e-7)  # the top two eigenvalues all but equal
    vectors, converged = _maps._iterated_top(gram.double())
    assert not bool(converged.any())
    calls = []
    dense = _maps._dense_top
    monkeypatch.setattr(_maps, "_dense_top", lambda g: calls.append(len(g)) or dense(g))
    result = _maps._top_eigenvector(gram)
    assert calls == [2]
    assert _same_up_to_sign(result, dense(gram), 1e-6)
