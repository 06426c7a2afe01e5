"""The method registry: one entry per method name, each a small function of the pass context.

A gradient-family method is a pure function ``(activation, gradient) -> raw map`` on
``(B, C, *S)`` tensors; :func:`layer_method` lifts it to every requested layer. Other
families receive the :class:`~xaikit.explain.engine.Context` and return
``{key: LayerMap}``.

A method whose map is a sum over channels of per-channel terms (``sum_k w_k A_k`` and its
element-wise kin) returns those terms ``(B, C, *S)`` and is registered ``per_channel=True``;
:func:`channel_map` then reduces them, to their sum or, with ``eigen_smooth=True``, to their
first principal component, for every such method alike.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch

from xaikit.explain._maps import first_component

NORMALISATIONS = ("minmax", "absmax", "none")


@dataclass
class LayerMap:
    """One map: ``raw`` at feature resolution; ``full`` at input resolution, or ``None`` to let
    the engine upsample ``raw`` (bilinear / trilinear, half-pixel centres)."""

    raw: torch.Tensor
    full: torch.Tensor | None = None


@dataclass(frozen=True)
class Method:
    """A registered explanation method.

    Attributes:
        name: public name (``"gradcam"``).
        run: ``context -> {key: LayerMap}``.
        needs_gradients: whether the shared pass must back-propagate the target score.
        uses_layers: whether the method reads the requested layers (pixel methods and RISE
            do not and use the key ``"input"``).
        relu: apply a ReLU at input resolution before normalising (CAM convention).
        normalise: ``"minmax"`` per sample, ``"absmax"`` (``|a| / max |a|``) or ``"none"``
            (the method's maps are already in [0, 1]).
        options: names of the method options it reads from ``context.options`` (the
            ``**options`` of :func:`~xaikit.explain.explain`); any other name is refused.
        per_channel: the map is a sum of per-channel terms, reduced by :func:`channel_map`,
            so ``eigen_smooth=True`` applies to it.
    """

    name: str
    run: Callable
    needs_gradients: bool = False
    uses_layers: bool = True
    relu: bool = True
    normalise: str = "minmax"
    options: tuple[str, ...] = ()
    per_channel: bool = False


METHODS: dict[str, Method] = {}


def register(name: str, options: Sequence[str] = (), **settings) -> Callable:
    """Decorator registering ``run(context) -> {key: LayerMap}`` under ``name``.

    Args:
        name: the public method name.
        options: the names of the options ``run`` reads from ``context.options``.
        **settings: the other :class:`Method` fields (``needs_gradients``, ``relu``...).
    """

    def decorator(run: Callable) -> Callable:
        if name in METHODS:
            raise ValueError(f"method {name!r} is already registered")
        METHODS[name] = Method(name=name, run=run, options=tuple(options), **settings)
        return run

    return decorator


def layer_method(
    name: str, needs_gradients: bool = True, per_channel: bool = False, **settings
) -> Callable:
    """Decorator registering a pure ``(activation, gradient) -> raw`` function for every layer.

    Activations and gradients are ``(B, C, *S)``; the function returns the map ``(B, *S)``, or
    with ``per_channel=True`` the per-channel terms ``(B, C, *S)`` that :func:`channel_map`
    reduces.
    """

    def decorator(function: Callable) -> Callable:
        def run(context) -> dict[str, LayerMap]:
            results = {}
            for layer in context.layer_names:
                activation = context.activations[layer]
                gradient = context.gradients[layer] if needs_gradients else None
                raw = function(activation, gradient)
                results[layer] = LayerMap(channel_map(raw, context) if per_channel else raw)
            return results

        register(name, needs_gradients=needs_gradients, per_channel=per_channel, **settings)(run)
        return function

    return decorator


def channel_map(terms: torch.Tensor, context) -> torch.Tensor:
    """The map ``(B, *S)`` of per-channel terms ``(B, C, *S)``: their sum over channels or,
    when the call asks for ``eigen_smooth``, their projection on the first principal direction
    over channels (pytorch-grad-cam's ``get_2d_projection``: positions x channels, centred per
    channel). The projection's sign, arbitrary in an SVD, is fixed so that it correlates
    non-negatively with the sum.

    Examples:
        >>> import torch
        >>> from types import SimpleNamespace
        >>> terms = torch.tensor([[[[0.0, 3.0, 6.0]], [[0.0, 4.0, 8.0]]]])  # (1, 2, 1, 3)
        >>> channel_map(terms, SimpleNamespace(options={})).tolist()
        [[[0.0, 7.0, 14.0]]]
        >>> smooth = SimpleNamespace(options={"eigen_smooth": True})
        >>> channel_map(terms, smooth).round(decimals=4).tolist()   # centred, on (3, 4) / 5
        [[[-5.0, 0.0, 5.0]]]
    """
    total = terms.sum(dim=1)
    if not context.options.get("eigen_smooth", False):
        return total
    return first_component(terms, center=True, orient_like=total)


def check_methods(method: str | Sequence[str]) -> list[str]:
    """Method names as a list without repeats, each checked against :data:`METHODS`.

    Raises:
        ValueError: an empty list or an unknown name (with close matches and the valid names).

    Examples:
        >>> check_methods("gradcam")
        ['gradcam']
        >>> check_methods(["gradcam", "gradcm"])  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        ValueError: unknown method 'gradcm' (did you mean gradcam...?); valid methods: [...]
    """
    names = [method] if isinstance(method, str) else list(method)
    if not names:
        raise ValueError(f"method is empty; choose from {sorted(METHODS)}")
    for name in names:
        if name not in METHODS:
            close = difflib.get_close_matches(str(name), list(METHODS), n=3)
            hint = f" (did you mean {', '.join(close)}?)" if close else ""
            raise ValueError(f"unknown method {name!r}{hint}; valid methods: {sorted(METHODS)}")
    return list(dict.fromkeys(names))


def check_options(names: Sequence[str], options: dict) -> None:
    """Refuse any option that none of the methods ``names`` reads.

    Args:
        names: checked method names (see :func:`check_methods`).
        options: the method options given to :func:`~xaikit.explain.explain`.

    Raises:
        ValueError: an unknown option, with close matches and every method's valid options.

    Examples:
        >>> check_options(["rise"], {"n_masks": 10})
        >>> check_options(["rise"], {"n_maks": 10})  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        ValueError: unknown option 'n_maks' (did you mean n_masks?) for method rise; ...
    """
    valid = {option for name in names for option in METHODS[name].options}
    for option in options:
        if option in valid:
            continue
        close = difflib.get_close_matches(str(option), sorted(valid), n=3)
        hint = f" (did you mean {', '.join(close)}?)" if close else ""
        accepted = "; ".join(
            f"{name}: {', '.join(METHODS[name].options) or 'none'}" for name in names
        )
        raise ValueError(
            f"unknown option {option!r}{hint} for method {', '.join(names)}; valid options: "
            f"{accepted} (and explain's own device, batch_size, progress, autocast)"
        )
