"""The explainer engine: hooks, one forward, one backward, every method and layer.

:func:`explain` resolves the layers and the target, captures the requested layers' activations
in one forward pass and, when any requested method needs them, their gradients in one
``torch.autograd.grad`` call. The graph of that pass starts at the first requested layer (what
runs before it runs as inference), and boxes on the same image share its forward (see
:class:`Context`). Every method of the registry then reads the same tensors. Parameters'
``.grad`` are never touched, the model's flags are restored, and no autograd graph outlives the
call.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from contextlib import nullcontext
from functools import partial

import torch
from torch import nn

from xaikit._arrays import minmax
from xaikit._runtime import device as resolve_device
from xaikit._runtime import model_device
from xaikit.explain import targets as targets_module
from xaikit.explain._maps import absmax, upsample
from xaikit.explain.augment import augmentation_smoothed
from xaikit.explain.explanation import Explanation
from xaikit.explain.hooks import (
    ActivationCapture,
    first_convolution_checked,
    input_copy,
    output_replaced,
    preserved_state,
)
from xaikit.explain.registry import METHODS, LayerMap, Method, check_methods, check_options
from xaikit.models.layers import feature_map_layers, resolve_layers

AUTOCAST_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}


class Context:
    """What one call shares between methods: the model, the input and the single pass.

    Attributes:
        model, x: the model and the (possibly box-expanded) input ``(B, C, *S)``.
        layer_names: requested layer names in the order given.
        target: the resolved :class:`~xaikit.explain.targets.Target`.
        options: method options passed to :func:`explain` (``batch_size``, ``steps``...).
        scores, classes: target scores ``(B,)`` and explained classes ``(B,)`` (``None``
            for non-class targets).
        activations, gradients: ``{layer: (B, C, *s)}``, detached.

    The shared pass runs ``batch_size`` samples at a time, so a large batch never needs more
    memory than one chunk; the model only ever sees copies of ``x``.

    When the samples are boxes of shared images (``sample_index`` given, the image of each:
    a detection target), the shared pass forwards each image once, ``batch_size`` images at a
    time, and takes every box's gradient in as many backward passes as the image with the
    most boxes has boxes: pass ``k`` differentiates the sum of each image's ``k``-th box score,
    which the model in eval mode keeps apart per image (samples never mix). The results equal
    one forward and backward per box.
    """

    def __init__(
        self,
        model,
        x,
        layers,
        target,
        capture,
        options,
        need_gradients,
        autocast,
        explicit_target,
        sample_index=None,
    ):
        self.model = model
        self.explicit_target = explicit_target
        #: The input images when the samples are boxes on them (``sample_index``: the image of
        #: each box); ``None`` when each sample is its own input.
        self.images = None if sample_index is None else x
        self.sample_index = sample_index
        self._x = x if sample_index is None else None
        self.layers = layers
        self.layer_names = [name for name, _ in layers]
        self.target = target
        self.capture = capture
        self.options = options
        self.autocast = autocast
        self.batch_size = int(options.get("batch_size", 32))
        self.progress = bool(options.get("progress", True))
        self.input_size = tuple(x.shape[2:])
        self.samples = len(x) if sample_index is None else len(sample_index)
        self.device = x.device
        self.activations: dict[str, torch.Tensor] = {}
        self.gradients: dict[str, torch.Tensor] = {}
        self._run_pass(need_gradients)

    @property
    def x(self) -> torch.Tensor:
        """The input, one row per sample (shared images repeated per box, made when asked)."""
        if self._x is None:
            self._x = self.images[self.sample_index.to(self.images.device)]
        return self._x

    def autocast_context(self):
        """``torch.autocast`` for the requested dtype, or a no-op."""
        if self.autocast is None:
            return nullcontext()
        return torch.autocast(device_type=self.device.type, dtype=self.autocast)

    def chunks(self) -> list[torch.Tensor]:
        """Sample indices of each chunk of at most ``batch_size`` rows of :attr:`x`."""
        return list(torch.arange(self.samples, device=self.device).split(self.batch_size))

    def target_of(self, rows: torch.Tensor) -> targets_module.Target:
        """The target of the samples ``rows`` (a chunk of the batch)."""
        return self.target if len(rows) == self.samples else self.target.select(rows)

    def _image_chunks(self) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """``(images, rows)`` of each chunk of at most ``batch_size`` shared images: the image
        indices (sorted) and the samples (boxes) on them."""
        index = self.sample_index.to(self.device)
        unique = torch.unique(index)
        return [
            (images, torch.isin(index, images).nonzero()[:, 0])
            for images in unique.split(self.batch_size)
        ]

    def _run_pass(self, need_gradients: bool) -> None:
        """The shared pass, ``batch_size`` samples (or shared images) at a time (one forward
        and, when needed, the backward passes of each chunk); per-sample results are
        concatenated back in sample order."""
        if self.images is not None:
            chunks = self._image_chunks()
            parts = [
                self._run_chunk(rows, self.target_of(rows), need_gradients, index == 0, images)
                for index, (images, rows) in enumerate(chunks)
            ]
            order = torch.argsort(torch.cat([rows for _, rows in chunks]))
        else:
            parts = [
                self._run_chunk(rows, self.target_of(rows), need_gradients, check_input=index == 0)
                for index, rows in enumerate(self.chunks())
            ]
            order = None
        self._forward_order = parts[0]["order"]

        def joined(values):
            values = torch.cat(values)
            return values if order is None else values[order.to(values.device)]

        for name in self.layer_names:
            self.activations[name] = joined([part["activations"][name] for part in parts])
            if need_gradients:
                self.gradients[name] = joined([part["gradients"][name] for part in parts])
        self.scores = joined([part["scores"] for part in parts])
        classes = [part["classes"] for part in parts]
        self.classes = None if classes[0] is None else joined(classes)

    def _run_chunk(
        self, rows, target, need_gradients: bool, check_input: bool, images=None
    ) -> dict:
        """Forward (and backward) the samples ``rows`` of :attr:`x` on a copy of them, so a
        model that changes its input in place never changes the caller's tensor; with
        ``images``, forward those shared images once instead (see the class)."""
        source = self.x[rows] if images is None else self.images[images]
        _, x = input_copy(source)
        # the graph starts at the first requested layer: what runs before it runs as inference
        grad_mode = self.capture.graph_from_first_layer() if need_gradients else torch.no_grad()
        checked = first_convolution_checked(self.model) if check_input else nullcontext()
        with grad_mode, self.autocast_context():
            with checked:
                outputs = self.model(x)
            local = None
            if images is not None:
                local = torch.searchsorted(images, self.sample_index.to(images.device)[rows])
                outputs = _rows_of(outputs, local)
            scores = target.score(outputs)
            if scores.shape != (len(rows),):
                raise ValueError(
                    f"target scores must have shape ({len(rows)},); got {tuple(scores.shape)}"
                )
            classes = target.classes(outputs)
            target.check_layers(self.layer_names)
            captured = self.capture.activations
            self._check_captured(captured, x.ndim)
            tensors = [captured[name] for name in self.layer_names]
            gradients = {}
            if need_gradients:
                grads = (
                    torch.autograd.grad(scores.sum(), tensors, allow_unused=True)
                    if local is None
                    else _gradients_per_row(scores, tensors, local)
                )
                for name, tensor, grad in zip(self.layer_names, tensors, grads, strict=True):
                    grad = torch.zeros_like(tensor) if grad is None else grad
                    gradients[name] = grad.detach().float()
        if local is not None:
            tensors = [tensor[local] for tensor in tensors]
        part = {
            "order": list(captured),
            "activations": {
                n: t.detach().float() for n, t in zip(self.layer_names, tensors, strict=True)
            },
            "gradients": gradients,
            "scores": scores.detach().float(),
            "classes": None if classes is None else classes.detach(),
        }
        captured.clear()
        return part

    def _check_captured(self, captured: dict, ndim: int) -> None:
        """Every requested layer ran and gave a feature map with the input's spatial axes."""
        for name in self.layer_names:
            if name not in captured:
                raise ValueError(f"layer {name!r} did not run in the model's forward pass")
            if captured[name].ndim != ndim:
                raise ValueError(
                    f"layer {name!r} outputs shape {tuple(captured[name].shape)}, not a "
                    f"feature map with the input's {ndim - 2} spatial axes; pick a layer "
                    "before global pooling (see xaikit.models.layers(model))"
                )

    def forward_order(self) -> list[str]:
        """Requested layer names in the order their forwards finished."""
        return list(self._forward_order)

    def gradients_of(self, scalar) -> tuple[dict, dict]:
        """One extra forward and backward (per chunk of ``batch_size`` samples) of the
        per-sample ``scalar(activations) -> (B,)`` to every layer.

        Returns:
            ``(activations, gradients)``, both ``{layer: (B, C, *s)}`` and detached.
        """
        parts = [self._gradients_of_rows(rows, scalar) for rows in self.chunks()]
        return tuple(
            {name: torch.cat([part[i][name] for part in parts]) for name in self.layer_names}
            for i in range(2)
        )

    def _gradients_of_rows(self, rows: torch.Tensor, scalar) -> tuple[dict, dict]:
        _, x = input_copy(self.x[rows], requires_grad=True)
        captured = self.capture.activations
        with torch.enable_grad(), self.autocast_context():
            self.model(x)
            tensors = [captured[name] for name in self.layer_names]
            values = scalar(captured)
            grads = torch.autograd.grad(values.sum(), tensors, allow_unused=True)
        activations = {
            n: t.detach().float() for n, t in zip(self.layer_names, tensors, strict=True)
        }
        gradients = {
            name: torch.zeros_like(activations[name]) if grad is None else grad.detach().float()
            for name, grad in zip(self.layer_names, grads, strict=True)
        }
        captured.clear()
        return activations, gradients

    def layer_gradient(
        self, layer, module, score, rows=None, shift=None, create_graph=False, dtype=None
    ):
        """One extra forward and backward: the gradient of ``score(outputs) -> (n,)`` at
        ``layer``'s activation for the samples ``rows`` (``None``: all), optionally with
        ``shift`` added to that layer's output.

        Args:
            layer, module: the requested layer's name and module.
            score: ``outputs -> (n,)`` scalar per sample (see :meth:`target_of`).
            rows: sample indices of one chunk (:meth:`chunks`), or ``None``.
            shift: tensor broadcastable to the layer's output, added to it in the forward.
            create_graph: keep the graph, for a second derivative.
            dtype: cast the input to this dtype (``None``: keep ``x``'s); the model must
                hold parameters of that dtype (Hessian-CIAM's float64 central difference).

        Returns:
            ``(activation, gradient)``, both ``(n, C, *s)`` (attached when ``create_graph``).
        """
        _, x = input_copy(self.x if rows is None else self.x[rows], requires_grad=True)
        if dtype is not None:
            x = x.to(dtype)
        captured = self.capture.activations
        replace = (lambda out: out + shift) if shift is not None else (lambda out: out)
        with torch.enable_grad(), output_replaced(module, replace):
            scores = score(self.model(x))
            activation = captured[layer]
            (gradient,) = torch.autograd.grad(scores.sum(), activation, create_graph=create_graph)
        captured.clear()
        return activation, gradient

    def score_batches(self, inputs_for, count: int, description: str) -> torch.Tensor:
        """Target scores of ``count`` perturbed inputs, forwarded ``batch_size`` at a time
        with capture paused and no gradient.

        Args:
            inputs_for: ``(start, stop) -> (inputs (n, C, *S), sample index (n,))``.
            count: number of perturbed inputs.
            description: progress bar label.

        Returns:
            ``(count,)`` scores.
        """
        from tqdm.auto import tqdm

        starts = range(0, count, self.batch_size)
        scores = []
        with self.capture.paused(), torch.no_grad(), self.autocast_context():
            for start in tqdm(starts, desc=description, disable=not self.progress, leave=False):
                stop = min(start + self.batch_size, count)
                inputs, samples = inputs_for(start, stop)
                scores.append(self.sample_scores(self.model(inputs), samples).float())
        return torch.cat(scores)

    def sample_scores(self, outputs, samples: torch.Tensor) -> torch.Tensor:
        """Score outputs of perturbed copies of the samples ``samples`` with their targets
        (:meth:`~xaikit.explain.targets.Target.restrict`: classes fixed to the explained ones)."""
        return self.target.restrict(samples, self.classes).score(outputs)


def _check_input(x) -> None:
    """``x`` is a finite, non-empty, floating-point ``(B, C, H, W)`` or ``(B, C, T, H, W)``
    tensor (channel count, layout and dtype against the model: see
    :func:`~xaikit.explain.hooks.first_convolution_checked`)."""
    if not isinstance(x, torch.Tensor):
        raise ValueError(f"x must be a torch.Tensor (B, C, H, W) or (B, C, T, H, W); got {type(x)}")
    if x.ndim not in (4, 5):
        raise ValueError(f"x must have shape (B, C, H, W) or (B, C, T, H, W); got {tuple(x.shape)}")
    if x.numel() == 0:
        raise ValueError(f"x is empty: shape {tuple(x.shape)}")
    if not x.is_floating_point():
        raise ValueError(
            f"x must be a floating-point tensor, preprocessed as the model expects; got "
            f"{x.dtype}. For uint8 images use the model's preprocessing (or x.float() / 255)"
        )
    if not torch.isfinite(x).all():
        raise ValueError("x contains NaN or infinite values")


def _default_layer(model: nn.Module, x: torch.Tensor) -> str:
    chosen = getattr(model, "default_explain_layer", None)  # e.g. a Darknet detector's
    if isinstance(chosen, str):
        return chosen
    with first_convolution_checked(model):
        feature_maps = feature_map_layers(model, x[:1].clone())
    if not feature_maps:
        raise ValueError("the model has no layer with a feature-map output; pass layers=")
    return list(feature_maps)[-1]


def _check_modifiers(methods: list[Method], sample_index, aug_smooth, eigen_smooth) -> None:
    """``aug_smooth`` and ``eigen_smooth`` are booleans that the methods and target allow."""
    for name, value in (("aug_smooth", aug_smooth), ("eigen_smooth", eigen_smooth)):
        if not isinstance(value, bool):
            raise ValueError(f"{name} must be True or False; got {value!r}")
    if aug_smooth and sample_index is not None:
        raise ValueError(
            "aug_smooth mirrors the input, but a detection target's boxes are not mirrored "
            "with it; explain detections without aug_smooth"
        )
    refused = [m.name for m in methods if not m.per_channel]
    if eigen_smooth and refused:
        accepted = sorted(name for name, m in METHODS.items() if m.per_channel)
        raise ValueError(
            f"eigen_smooth needs a map made of per-channel terms; {', '.join(refused)} has "
            f"none. Methods that take it: {', '.join(accepted)}"
        )


NORMALISERS = {"minmax": minmax, "absmax": absmax}


def _per_sample_batched(function, maps: list[torch.Tensor]) -> list[torch.Tensor]:
    """``[function(m) for m in maps]`` in one call, for a per-sample ``function`` and maps of
    one shape ``(B, ...)``: they are concatenated along the batch axis and split back."""
    return list(function(torch.cat(maps)).split(maps[0].shape[0]))


def _resize(raw: torch.Tensor, relu: bool, size: tuple[int, ...]) -> torch.Tensor:
    """ReLU at feature resolution, then resize (Grad-CAM and pytorch-grad-cam order)."""
    return upsample(raw.clamp_min(0) if relu else raw, size)


def _finish(
    methods: list[Method], results: dict[str, dict[str, LayerMap]], context: Context
) -> dict[str, Explanation]:
    """Bring every method's maps to input resolution and normalise them.

    Maps are batched across methods and layers: one resize per (feature shape, ReLU) group
    and one normalisation per rule, so 7 methods x 4 layers cost 4 resizes and 1 min-max,
    not 28 of each.
    """
    entries = [(m, key, entry) for m in methods for key, entry in results[m.name].items()]
    full: dict[int, torch.Tensor] = {}
    to_resize: dict[tuple, list[int]] = defaultdict(list)
    for index, (method, _, entry) in enumerate(entries):
        if entry.full is None:
            to_resize[tuple(entry.raw.shape), method.relu].append(index)
        else:
            full[index] = entry.full.clamp_min(0) if method.relu else entry.full
    for (_, relu), indices in to_resize.items():
        resize = partial(_resize, relu=relu, size=context.input_size)
        resized = _per_sample_batched(resize, [entries[i][2].raw for i in indices])
        full.update(zip(indices, resized, strict=True))
    to_normalise: dict[tuple, list[int]] = defaultdict(list)
    for index, (method, _, _) in enumerate(entries):
        if method.normalise in NORMALISERS:
            to_normalise[method.normalise, tuple(full[index].shape)].append(index)
    for (rule, _), indices in to_normalise.items():
        normalised = _per_sample_batched(NORMALISERS[rule], [full[i] for i in indices])
        full.update(zip(indices, normalised, strict=True))

    maps: dict[str, dict] = {m.name: {} for m in methods}
    raw: dict[str, dict] = {m.name: {} for m in methods}
    for index, (method, key, entry) in enumerate(entries):
        maps[method.name][key] = full[index].detach()
        raw[method.name][key] = entry.raw.detach()
    return {
        m.name: Explanation(
            method=m.name,
            maps=maps[m.name],
            raw=raw[m.name],
            targets=context.classes,
            scores=context.scores,
            layers=[key for key in results[m.name] if "+" not in key],
        )
        for m in methods
    }


def _rows_of(outputs, rows: torch.Tensor):
    """``outputs`` of a batch of images, one row per sample: every tensor indexed by ``rows``
    (a tensor, or a tuple / list / dict of them, as detectors return)."""
    if isinstance(outputs, torch.Tensor):
        return outputs[rows]
    if isinstance(outputs, (tuple, list)):
        return type(outputs)(_rows_of(output, rows) for output in outputs)
    if isinstance(outputs, dict):
        return {key: _rows_of(output, rows) for key, output in outputs.items()}
    raise TypeError(
        f"cannot take the rows of a {type(outputs).__name__} output: a detection target needs "
        "the model to return tensors (or tuples, lists or dicts of them) with a batch axis"
    )


def _gradients_per_row(scores: torch.Tensor, tensors: list, local: torch.Tensor) -> list:
    """Each row's own gradient of ``scores`` at ``tensors``, whose batch holds the images
    ``local`` points into: one backward per rank of a row among the rows of its image (the
    k-th rows of all images together: their images never mix in a model in eval mode).

    Returns:
        One ``(rows, *tensor.shape[1:])`` gradient per tensor.
    """
    order = torch.argsort(local, stable=True)
    _, counts = torch.unique_consecutive(local[order], return_counts=True)
    starts = torch.repeat_interleave(torch.cumsum(counts, 0) - counts, counts)
    rank = torch.empty_like(local)
    rank[order] = torch.arange(len(local), device=local.device) - starts
    rounds = int(rank.max()) + 1 if len(rank) else 0
    gradients = [tensor.new_zeros((len(local), *tensor.shape[1:])) for tensor in tensors]
    for round_ in range(rounds):
        chosen = rank == round_
        grads = torch.autograd.grad(
            scores[chosen].sum(), tensors, retain_graph=round_ < rounds - 1, allow_unused=True
        )
        for gradient, grad in zip(gradients, grads, strict=True):
            if grad is not None:
                gradient[chosen] = grad[local[chosen]]
    return gradients


def explain(
    model: nn.Module,
    x: torch.Tensor,
    method: str | Sequence[str] = "gradcam",
    layers: str | nn.Module | Sequence[str | nn.Module] | None = None,
    target=None,
    *,
    device: str | torch.device | None = None,
    batch_size: int = 32,
    progress: bool = True,
    autocast: str | None = None,
    aug_smooth: bool = False,
    eigen_smooth: bool = False,
    **options,
) -> Explanation | dict[str, Explanation]:
    """Explain ``model``'s output on ``x`` with one or several methods and layers.

    One forward pass captures every requested layer; one backward pass (``torch.autograd.grad``
    on those activations only) serves every gradient method. Perturbation methods then run
    batched forwards with capture paused; pixel methods run their own pass.

    Args:
        model: any ``nn.Module`` taking one tensor.
        x: ``(B, C, H, W)`` images or ``(B, C, T, H, W)`` clips.
        method: a method name or a list of names (see ``xaikit.explain.METHODS``).
        layers: layer names (``"layer4"``, ``"features.28"``) or modules; ``None`` takes
            the model's ``default_explain_layer`` when it has one (a Darknet detector: the
            deepest layer feeding every head), else the last layer with a feature-map output
            larger than 1x1. Pixel methods and RISE ignore it.
        target: ``None`` (predicted class), an int, one int per sample, a callable
            ``outputs -> Tensor[B]``, an ``xaikit.explain.targets`` object, or detections
            ``(n, 6)`` ``x0, y0, x1, y1, score, class`` in input pixels (a detector's
            ``detect()`` rows, one tensor per image): one map per detection.
        device: where to compute; ``None`` uses the model's device. A model elsewhere is
            moved there for the call and moved back afterwards.
        batch_size: samples per forward (and backward) of the shared pass and of the pixel
            methods, perturbed inputs per forward (Score-CAM, Ablation-CAM, RISE) and
            interpolated inputs per pass (Integrated Gradients): a batch larger than this
            runs in chunks, with the same maps as one pass.
        progress: show ``tqdm`` progress bars for long loops.
        autocast: ``None``, ``"bf16"`` or ``"fp16"`` mixed precision for the passes.
        aug_smooth: average each map over six test-time augmentations (the input and its
            mirror image, each times 0.9, 1 and 1.1), mirrored back: pytorch-grad-cam's
            ``aug_smooth`` (:mod:`xaikit.explain.augment`); six times the work. Any method;
            not with detection targets (their boxes would not be mirrored).
        eigen_smooth: take the first principal component of each channel method's
            per-channel terms ``w_k A_k`` instead of their sum (pytorch-grad-cam's
            ``eigen_smooth``, :func:`~xaikit.explain.registry.channel_map`); every method
            registered ``per_channel`` (``METHODS[name].per_channel``), others refuse it.
        **options: method options, e.g. ``n_masks``, ``cells``, ``p``, ``seed`` (RISE),
            ``steps`` (Integrated Gradients), ``hvp``, ``r``, ``smooth`` (Hessian-CIAM),
            ``upsample`` (Guided Grad-CAM), ``all_negative`` (3DCAM), ``gestalt_layer``
            (Dense Attention), ``kernel``, ``gamma`` (KPCA-CAM), ``k`` (FEM),
            ``n_components``, ``concept`` (DFF), ``base``, ``references``, ``comparisons``,
            ``alpha``, ``weighting`` (Finer-CAM), ``n_samples``, ``std`` (the noisy methods:
            Smooth Grad-CAM++, SS-CAM, SmoothGrad, VarGrad, GradientSHAP), ``base``
            (SmoothGrad, VarGrad), ``baselines`` (GradientSHAP), ``baseline`` (DeepLIFT,
            Occlusion), ``window``, ``stride`` (Occlusion); each method declares the ones it
            reads (``METHODS[name].options``, defaults in its docstring) and any other name
            is refused.

    ``x`` is never modified: the model always runs on copies of it, also when it changes
    its input in place.

    Returns:
        An :class:`Explanation` for one method name, else ``{method: Explanation}``.

    Raises:
        ValueError: bad input shape, dtype (integer, or not the model's), channel count or
            layout (channels-last), unknown method, option or layer (with suggestions), a
            target that does not fit the batch or the image, or a layer that is not a
            feature map.
        RuntimeError: called under ``torch.inference_mode()``, where no gradient exists.

    Examples:
        >>> import torch
        >>> from torch import nn
        >>> import xaikit as xk
        >>> _ = torch.manual_seed(0)
        >>> net = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(),
        ...                     nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 2))
        >>> expl = xk.explain(net, torch.rand(2, 3, 8, 8), method="gradcam", layers=["1"])
        >>> tuple(expl.maps["1"].shape), float(expl.maps["1"].max()) <= 1.0
        ((2, 8, 8), True)
        >>> both = xk.explain(net, torch.rand(1, 3, 8, 8), method=["gradcam", "layercam"],
        ...                   layers=["0", "1"], target=1)
        >>> sorted(both), sorted(both["layercam"].maps)
        (['gradcam', 'layercam'], ['0', '1'])
    """
    if not isinstance(model, nn.Module):
        raise ValueError(f"model must be a torch.nn.Module; got {type(model).__name__}")
    _check_input(x)
    names = check_methods(method)
    check_options(names, options)
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive int; got {batch_size!r}")
    if autocast is not None and autocast not in AUTOCAST_DTYPES:
        raise ValueError(f"autocast must be None, 'bf16' or 'fp16'; got {autocast!r}")
    if torch.is_inference_mode_enabled():
        raise RuntimeError(
            "xaikit.explain cannot run inside torch.inference_mode(); call it outside"
        )

    home = model_device(model)
    compute = resolve_device(device) if device is not None else home
    moved = home != compute
    if moved:
        model.to(compute)
    try:
        x = x.to(compute)
        target_object = targets_module.resolve(
            target, batch_size=x.shape[0], model=model, image_size=tuple(x.shape[-2:])
        )
        sample_index = target_object.sample_index(x.shape[0])
        methods = [METHODS[name] for name in names]
        _check_modifiers(methods, sample_index, aug_smooth, eigen_smooth)
        if layers is None and any(m.uses_layers for m in methods):
            layers = [_default_layer(model, x)]
        resolved = resolve_layers(model, layers) if layers is not None else []
        options = dict(options, batch_size=batch_size, progress=progress, eigen_smooth=eigen_smooth)

        def explain_once(inputs, resolved_target):
            with preserved_state(model), ActivationCapture(resolved) as capture:
                context = Context(
                    model,
                    inputs,
                    resolved,
                    resolved_target,
                    capture,
                    options,
                    need_gradients=any(m.needs_gradients for m in methods),
                    autocast=AUTOCAST_DTYPES.get(autocast),
                    explicit_target=target is not None,
                    sample_index=sample_index,
                )
                return _finish(methods, {m.name: m.run(context) for m in methods}, context)

        if aug_smooth:
            explanations = augmentation_smoothed(explain_once, x, target_object)
        else:
            explanations = explain_once(x, target_object)
    finally:
        if moved:
            model.to(home)
    index = sample_index if sample_index is not None else torch.arange(x.shape[0])
    for explanation in explanations.values():
        explanation.sample_index = index
    return explanations[names[0]] if isinstance(method, str) else explanations
