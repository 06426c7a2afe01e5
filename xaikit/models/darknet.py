"""Darknet networks from ``.cfg`` and ``.weights`` files, as torch modules: YOLOv2-v4, v7
(and Yolo-Fastest, MobileNet-YOLO ...) detectors and Darknet classifiers."""

from __future__ import annotations

import math
from fractions import Fraction
from pathlib import Path

import torch
from torch import nn

from xaikit._runtime import device as resolve_device
from xaikit.models.darknet_cfg import Section, parse_cfg
from xaikit.models.darknet_layers import (
    BATCH_NORM_EPS,
    AvgPool,
    Connected,
    ConvBlock,
    DetectionHead,
    Identity,
    LocalAvgPool,
    MaxPool,
    RegionLayer,
    Reorg,
    Route,
    Sam,
    ScaleChannels,
    Shortcut,
    Softmax,
    Upsample,
    YoloLayer,
)
from xaikit.models.darknet_weights import load_darknet_weights
from xaikit.models.geometry import InputMapping
from xaikit.models.preprocessing import ResizePreprocess
from xaikit.models.yolo import non_max_suppression

#: The ``[net]`` options the network reads (the rest are training-only or refused).
NET_OPTIONS = ("width", "height", "channels", "letter_box")

#: Layers that read the previous output and their ``sources`` (the rest read either one).
_TAKES_PREVIOUS = (Shortcut, ScaleChannels, Sam)


class DarknetNetwork(nn.Module):
    """The layers of a Darknet cfg: one entry of ``module_list`` per cfg layer, numbered as in
    Darknet and OpenCV DNN (``module_list.14`` is layer 14; a conv block's output is taken after
    its activation). :class:`Darknet` (detectors) and :class:`DarknetClassifier` build on it;
    :func:`load_darknet` picks the one the cfg describes.

    Input: ``(B, C, H, W)`` float in [0, 1] (RGB, no mean/std), ``H`` and ``W`` any multiple of
    :attr:`max_stride` (the cfg's ``width``/``height`` are the default for :meth:`preprocess`;
    a net with ``[connected]`` layers takes only that size).

    Attributes:
        input_size: ``(H, W)`` from the cfg (or the override given to :func:`load_darknet`).
        channels: Input channels (cfg ``channels``, default 3).
        max_stride: Input sizes must be multiples of it (the least common multiple of the
            layers' downsampling).
        shapes: Each layer's output ``(C, H, W)`` at the cfg's size.
        class_names: One name per class, or ``None``.
        letterbox: Whether :meth:`preprocess` letterboxes (else it stretches, as Darknet video);
            by default the cfg's ``letter_box`` (0 when absent).

    Every cfg option must be one the builders read or one listed as training-only
    (:data:`~xaikit.models.darknet_cfg.TRAINING_OPTIONS`); any other, and an option that
    would change the network in a way not implemented (``xnor=1``, a weighted shortcut),
    is a ``ValueError`` naming the section, the option and its line.
    """

    def __init__(
        self,
        net: Section,
        layers: list[Section],
        class_names: list[str] | None = None,
        letterbox: bool | None = None,
        device=None,
    ):
        super().__init__()
        net.check_options(NET_OPTIONS)
        self.input_size = (net.get_int("height", 0), net.get_int("width", 0))
        self.channels = net.get_int("channels", 3)
        if min(*self.input_size, self.channels) <= 0:
            raise ValueError(
                f"[net] needs positive width, height and channels; got width="
                f"{self.input_size[1]}, height={self.input_size[0]}, channels={self.channels}"
            )
        cfg_letterbox = bool(net.get_int("letter_box", 0))
        self.letterbox = cfg_letterbox if letterbox is None else bool(letterbox)
        self.module_list = nn.ModuleList()
        self.shapes: list[tuple[int, int, int]] = []
        grid_strides: list[tuple[Fraction, Fraction] | None] = []
        for section in layers:
            module, stride = self._build(section, grid_strides, device)
            self.module_list.append(module)
            self.shapes.append(module.shape)
            grid_strides.append(stride)
        # The layers each layer reads, in argument order (the previous one as index - 1).
        self._inputs = [
            ([index - 1] if not m.sources or isinstance(m, _TAKES_PREVIOUS) else []) + m.sources
            for index, m in enumerate(self.module_list)
        ]
        self._keep = {s for m in self.module_list for s in m.sources}
        self.fixed_size = any(isinstance(m, Connected) for m in self.module_list)
        numerators = [v.numerator for s in grid_strides if s for v in s]
        self.max_stride = math.lcm(*numerators) if numerators else 1
        self.class_names = None
        for size in self.input_size:
            if size % self.max_stride:
                raise ValueError(
                    f"cfg width and height must be multiples of {self.max_stride} (the "
                    f"network's total stride); got {self.input_size[1]}x{self.input_size[0]}"
                )

    def _build(self, section: Section, grid_strides: list, device):
        shapes = self.shapes
        shape = shapes[-1] if shapes else (self.channels, *self.input_size)
        previous = grid_strides[-1] if grid_strides else (Fraction(1), Fraction(1))
        kind = section.kind

        def scaled(factors):
            if previous is None:
                return None
            return tuple(p * f for p, f in zip(previous, factors, strict=True))

        if kind == "convolutional":
            module = ConvBlock(section, shape, device)
            return module, scaled(module.strides)
        if kind == "connected":
            return Connected(section, shape, device), None
        if kind in ("maxpool", "local_avgpool"):
            module = (MaxPool if kind == "maxpool" else LocalAvgPool)(section, shape)
            return module, scaled(module.strides)
        if kind == "avgpool":
            return AvgPool(section, shape), None
        if kind == "upsample":
            module = Upsample(section, shape)
            return module, scaled((Fraction(1, module.factor),) * 2)
        if kind == "reorg":
            module = Reorg(section, shape)
            return module, scaled(module.strides)
        if kind in ("dropout", "cost"):
            return Identity(section, shape), previous
        if kind == "softmax":
            return Softmax(section, shape), previous
        if kind in ("route", "shortcut", "scale_channels", "sam"):
            builder = {"route": Route, "shortcut": Shortcut, "scale_channels": ScaleChannels,
                       "sam": Sam}[kind]  # fmt: skip
            module = builder(section, shapes)
            return module, grid_strides[module.sources[0]]
        # "yolo" or "region"; parse_cfg has refused every other kind
        if previous is None or any(v.denominator != 1 for v in previous):
            raise ValueError(f"{section._where()}: a detection head needs a grid input")
        strides = tuple(int(v) for v in previous)
        return (YoloLayer if kind == "yolo" else RegionLayer)(section, shape, strides), previous

    @classmethod
    def from_cfg(
        cls, cfg: str | Path, class_names: list[str] | None = None, letterbox: bool | None = None
    ) -> DarknetNetwork:
        """Build the network of a cfg (path or text) with random weights, on the CPU: a
        :class:`Darknet` for a cfg with ``[yolo]``/``[region]`` heads, else a
        :class:`DarknetClassifier`."""
        return _build_network(cfg, class_names, letterbox, device=None)

    def _check_input(self, x: torch.Tensor) -> None:
        if x.ndim != 4 or x.shape[1] != self.channels:
            raise ValueError(
                f"input must be (B, {self.channels}, H, W); got shape {tuple(x.shape)}"
            )
        height, width = x.shape[-2:]
        if self.fixed_size and (height, width) != self.input_size:
            raise ValueError(
                f"this network has [connected] layers and takes only its cfg size "
                f"{self.input_size[0]}x{self.input_size[1]} (H x W); got {height}x{width}"
            )
        if height % self.max_stride or width % self.max_stride:
            raise ValueError(
                f"input height and width must be multiples of {self.max_stride}; got "
                f"{height}x{width}"
            )

    def _run(self, x: torch.Tensor, wanted: list[int]) -> list[torch.Tensor]:
        """The outputs of layers ``wanted`` (indices), computing no layer past the last."""
        self._check_input(x)
        x = x.contiguous(memory_format=torch.channels_last)
        kept: dict[int, torch.Tensor] = {}
        wanted_set, last = set(wanted), max(wanted)
        for index, module in enumerate(self.module_list[: last + 1]):
            x = module(*[x if s == index - 1 else kept[s] for s in self._inputs[index]])
            if index in self._keep or index in wanted_set:
                kept[index] = x
        return [kept[i] for i in wanted]

    def preprocess(self, frames, device=None) -> tuple[torch.Tensor, list[InputMapping]]:
        """HWC uint8 RGB frame(s) → ``(B, 3, H, W)`` input at :attr:`input_size`, plus mappings.

        ``device=None`` uses the device of the model's parameters.
        """
        device = next(self.parameters()).device if device is None else device
        return ResizePreprocess(self.input_size, self.letterbox)(frames, device=device)


class DarknetClassifier(DarknetNetwork):
    """A Darknet classifier (no detection head; e.g. ``tiny.cfg``, ``darknet53.cfg``).

    ``forward`` returns ``(B, K)`` class logits: the input of the first ``[softmax]`` layer
    (or the last layer's output when there is none), what a CAM targets;
    :meth:`probabilities` gives the softmax, OpenCV DNN's ``net.forward()``.

    Examples:
        >>> cfg = "[net]\\nwidth=16\\nheight=16\\n[convolutional]\\nfilters=5\\nsize=1\\n"
        >>> model = Darknet.from_cfg(cfg + "[avgpool]\\n[softmax]\\n")
        >>> type(model).__name__, tuple(model(torch.zeros(2, 3, 16, 16)).shape)
        ('DarknetClassifier', (2, 5))
        >>> round(float(model.probabilities(torch.zeros(1, 3, 16, 16)).sum().detach()), 6)
        1.0
    """

    def __init__(self, net, layers, class_names=None, letterbox=None, device=None):
        super().__init__(net, layers, class_names, letterbox, device)
        kinds = [section.kind for section in layers]
        last = max(i for i, kind in enumerate(kinds) if kind not in ("cost", "dropout"))
        first_softmax = kinds.index("softmax") if "softmax" in kinds else None
        self.logit_layer = last if first_softmax is None else first_softmax - 1
        self.probability_layer = last
        self.num_classes = math.prod(self.shapes[self.logit_layer])
        self.class_names = _check_names(class_names, self.num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._run(x, [self.logit_layer])[0].flatten(1)

    def probabilities(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, K)`` class probabilities (the last layer's output, ``[softmax]`` applied)."""
        return self._run(x, [self.probability_layer])[0].flatten(1)


class Darknet(DarknetNetwork):
    """A Darknet detector: ``[yolo]`` (YOLOv3, v4, v7, Yolo-Fastest ...) or ``[region]``
    (YOLOv2) heads. See :class:`DarknetNetwork` for the layers and input.

    The forward pass returns the raw heads: a tuple with one ``(B, A * (5 + C), H / s, W / s)``
    tensor per head, in cfg order (a head's output is the raw tensor it reads). The model
    carries its decoding (:meth:`decode`, :meth:`box_scores`, :meth:`detect`), so a detection
    is explained with no ``decode=`` argument.

    Examples:
        >>> cfg = \'\'\'[net]
        ... width=64
        ... height=32
        ... [convolutional]
        ... filters=12
        ... size=3
        ... stride=2
        ... pad=1
        ... activation=linear
        ... [yolo]
        ... mask=0,1
        ... anchors=8,8, 16,16
        ... classes=1
        ... num=2
        ... \'\'\'
        >>> model = Darknet.from_cfg(cfg)
        >>> [tuple(head.shape) for head in model(torch.zeros(1, 3, 32, 64))]
        [(1, 12, 16, 32)]
        >>> model.max_stride, model.heads[0].stride
        (2, 2)
    """

    def __init__(self, net, layers, class_names=None, letterbox=None, device=None):
        super().__init__(net, layers, class_names, letterbox, device)
        self._head_indices = [
            i for i, m in enumerate(self.module_list) if isinstance(m, DetectionHead)
        ]
        if not self._head_indices:
            raise ValueError("the cfg has no [yolo] or [region] layer: use DarknetClassifier")
        classes = {self.module_list[i].classes for i in self._head_indices}
        if len(classes) != 1:
            raise ValueError(f"all detection heads must have the same classes; got {classes}")
        self.num_classes = classes.pop()
        self.class_names = _check_names(class_names, self.num_classes)
        self._reach = self._heads_reached()

    def _heads_reached(self) -> list[set[int]]:
        """For each layer, the heads its output reaches (positions in :attr:`heads`)."""
        reach: list[set[int]] = [set() for _ in self.module_list]
        for position, index in enumerate(self._head_indices):
            reach[index].add(position)
        for index in range(len(self.module_list) - 1, 0, -1):
            for source in self._inputs[index]:
                reach[source] |= reach[index]
        return reach

    @property
    def default_explain_layer(self) -> str:
        """The deepest layer whose output feeds every head: the default layer to explain
        detections at (a layer past a split sees one head's detections only).

        Examples:
            >>> from xaikit.models.zoo.detector import CFG
            >>> model = Darknet.from_cfg(CFG)  # YOLOv3-tiny: layer 13 feeds both heads
            >>> model.default_explain_layer, model.heads_seen_by("module_list.14")
            ('module_list.13', [0])
        """
        every = set(range(len(self._head_indices)))
        for index in range(len(self.module_list) - 1, -1, -1):
            height = self.shapes[index][1]
            if self._reach[index] == every and index not in self._head_indices and height > 1:
                return f"module_list.{index}"
        raise ValueError("no layer of this network feeds every head")

    def heads_seen_by(self, layer: str) -> list[int] | None:
        """Positions in :attr:`heads` of the heads that layer ``layer`` (``"module_list.13"``
        or a part of it, ``"module_list.13.conv"``) feeds; ``None`` for another name."""
        parts = layer.split(".")
        if len(parts) < 2 or parts[0] != "module_list" or not parts[1].isdigit():
            return None
        index = int(parts[1])
        return sorted(self._reach[index]) if index < len(self.module_list) else None

    def head_of_prediction(self, outputs, rows: torch.Tensor) -> torch.Tensor:
        """The head (position in :attr:`heads`) each row of :meth:`decode`'s output comes
        from, for raw ``outputs`` of one input size."""
        counts = [raw.shape[-2] * raw.shape[-1] * len(head.anchors)
                  for raw, head in zip(outputs, self.heads, strict=True)]  # fmt: skip
        ends = torch.tensor(counts, device=rows.device).cumsum(0)
        return torch.bucketize(rows, ends, right=True)

    @property
    def heads(self) -> list[YoloLayer | RegionLayer]:
        """The ``[yolo]`` / ``[region]`` layers, in cfg order (the order of the outputs)."""
        return [self.module_list[i] for i in self._head_indices]

    @property
    def head_layer_names(self) -> list[str]:
        """Module names of the heads, e.g. ``['module_list.16', 'module_list.23']``."""
        return [f"module_list.{i}" for i in self._head_indices]

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return tuple(self._run(x, self._head_indices))

    def decode(self, outputs: tuple[torch.Tensor, ...]) -> torch.Tensor:
        """Raw heads → ``(B, N, 5 + C)`` predictions, heads concatenated in cfg order.

        Columns: ``x0, y0, x1, y1`` in input pixels, objectness, class probabilities given an
        object (see :func:`~xaikit.models.yolo.decode_yolo_head` and
        :func:`~xaikit.models.yolo.decode_region_head`). Differentiable.
        """
        if len(outputs) != len(self._head_indices):
            raise ValueError(f"expected {len(self._head_indices)} head outputs; got {len(outputs)}")
        return torch.cat(
            [head.decode(raw) for raw, head in zip(outputs, self.heads, strict=True)], dim=1
        )

    def box_scores(self, outputs: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, torch.Tensor]:
        """Raw heads → ``(boxes (B, N, 4), class scores (B, N, K))``: what a
        :class:`~xaikit.explain.targets.DetectionBox` target reads, so explaining a detection
        of this model needs no ``decode=``.

        Boxes are continuous ``x0, y0, x1, y1`` in input pixels; a class score is objectness x
        p(class | object), the score :meth:`detect` ranks by. Differentiable.
        """
        predictions = self.decode(outputs)
        return predictions[..., :4], predictions[..., 4:5] * predictions[..., 5:]

    @torch.no_grad()
    def detect(
        self,
        images,
        conf_threshold: float = 0.25,
        iou_threshold: float = 0.45,
        max_detections: int = 300,
        return_index: bool = False,
        nms_kind: str | None = None,
    ):
        """Detect objects: forward, decode, per-class NMS.

        Args:
            images: Either a ``(B, C, H, W)`` float tensor in [0, 1] (boxes come back in its
                pixels), or HWC uint8 RGB frame(s) (preprocessed with :meth:`preprocess`; boxes
                come back in each frame's pixels, resize or letterbox undone, clipped).
            conf_threshold: Keep ``objectness > t`` and ``objectness * p(class) > t``.
            iou_threshold: Same-class boxes overlapping more than this are suppressed.
            max_detections: Per image.
            return_index: Also return, per image, the prediction row of each detection in
                :meth:`decode`'s output (to target it with a CAM).
            nms_kind: ``"iou"`` or ``"diou"``; ``None`` follows the last ``[yolo]`` layer's
                ``nms_kind`` and ``beta_nms``, as Darknet does (see
                :func:`~xaikit.models.yolo.non_max_suppression`).

        Returns:
            Per image an ``(n, 6)`` tensor ``x0, y0, x1, y1, score, class`` sorted by score
            (and the index list when ``return_index``).
        """
        mappings = None
        if isinstance(images, torch.Tensor) and images.is_floating_point():
            x = images.to(next(self.parameters()).device)
        else:
            x, mappings = self.preprocess(images)
        head = self.heads[-1]  # Darknet's detector reads the NMS options of the last layer
        detections, indices = non_max_suppression(
            self.decode(self(x)),
            conf_threshold,
            iou_threshold,
            max_detections,
            kind=nms_kind or head.nms_kind,
            beta=head.beta_nms,
        )
        if mappings is not None:
            detections = [m.boxes_to_frame(d) for m, d in zip(mappings, detections, strict=True)]
        return (detections, indices) if return_index else detections


def _build_network(cfg, class_names, letterbox, device) -> DarknetNetwork:
    net, layers = parse_cfg(cfg)
    detector = any(section.kind in ("yolo", "region") for section in layers)
    kind = Darknet if detector else DarknetClassifier
    model = kind(net, layers, class_names=class_names, letterbox=letterbox, device=device)
    # channels-last runs these nets 1.2-1.9x faster on CPU (benchmarks/darknet.py); a weights
    # file is read into the contiguous tensors first (load_darknet converts after).
    return model if device == "meta" else model.to(memory_format=torch.channels_last)


def _check_names(class_names, num_classes: int) -> list[str] | None:
    if class_names is None:
        return None
    if isinstance(class_names, (str, Path)):
        path = Path(class_names)
        if not path.is_file():
            raise FileNotFoundError(f"class names file not found: {path}")
        class_names = [line.strip() for line in path.read_text().splitlines() if line.strip()]
    class_names = [str(name) for name in class_names]
    if len(class_names) != num_classes:
        raise ValueError(f"the cfg has {num_classes} classes but {len(class_names)} names came")
    return class_names


def load_darknet(
    cfg: str | Path,
    weights: str | Path | None = ...,
    device=None,
    *,
    class_names=None,
    letterbox: bool | None = None,
    input_size: tuple[int, int] | None = None,
    batch_norm_eps: float = BATCH_NORM_EPS,
) -> DarknetNetwork:
    """Load a Darknet model (any YOLO detector or classifier cfg), in eval mode.

    Args:
        cfg: Path to the ``.cfg`` file (or its text), or a trained-detector folder
            (:func:`~xaikit.track.train_detector`): its ``model.cfg``, ``model.weights`` and
            ``model.names``.
        weights: Path to the ``.weights`` file (either header version), or ``None`` for random
            weights; required unless ``cfg`` is a folder.
        device: Where the model goes; ``None`` picks CUDA, then MPS, then CPU.
        class_names: A list of names or a ``.names`` file (one per line), or ``None``.
        letterbox: Make :meth:`Darknet.preprocess` letterbox instead of stretch; ``None``
            follows the cfg's ``letter_box``.
        input_size: ``(H, W)`` to preprocess to instead of the cfg's ``height``/``width``.
        batch_norm_eps: The batch-norm epsilon: OpenCV DNN's 1e-6 by default (xaikit's
            outputs equal OpenCV's); 1e-5 is Darknet's own (see
            :data:`~xaikit.models.darknet_layers.BATCH_NORM_EPS`).

    Returns:
        A :class:`Darknet` (detector) or :class:`DarknetClassifier` in eval mode on
        ``device``.

    Raises:
        FileNotFoundError: a named file does not exist.
        ValueError: the cfg is malformed, uses unsupported layers or options (named with
            their line), or the weights file size
            does not match the cfg (the message gives both byte counts).

    Examples:
        >>> import tempfile
        >>> from xaikit.models import save_darknet_weights
        >>> cfg = "[net]\\nwidth=32\\nheight=32\\n[convolutional]\\nfilters=6\\nsize=1\\n"
        >>> cfg += "activation=linear\\n[yolo]\\nanchors=4,4\\nclasses=1\\n"
        >>> path = save_darknet_weights(Darknet.from_cfg(cfg), tempfile.mkdtemp() + "/t.weights")
        >>> model = load_darknet(cfg, path, device="cpu")
        >>> model.training, model.head_layer_names
        (False, ['module_list.1'])
    """
    if not isinstance(cfg, str) or "\n" not in cfg:
        if Path(cfg).is_dir():
            folder = Path(cfg)
            cfg = folder / "model.cfg"
            weights = folder / "model.weights" if weights is ... else weights
            if class_names is None and (folder / "model.names").is_file():
                class_names = folder / "model.names"
    if weights is ...:
        raise TypeError("load_darknet needs weights= a .weights file (or None: random weights)")
    # With weights, the layers are built without memory and without random initialisation
    # (``device="meta"``), then given storage the file is read straight into: one copy.
    model = _build_network(cfg, class_names, letterbox, device=None if weights is None else "meta")
    if input_size is not None:
        height, width = (int(v) for v in input_size)
        if height <= 0 or width <= 0 or height % model.max_stride or width % model.max_stride:
            raise ValueError(
                f"input_size must be (H, W) multiples of {model.max_stride}; got {input_size}"
            )
        if model.fixed_size and (height, width) != model.input_size:
            raise ValueError("this network has [connected] layers: input_size must be the cfg's")
        model.input_size = (height, width)
    if not batch_norm_eps > 0:
        raise ValueError(f"batch_norm_eps must be > 0; got {batch_norm_eps}")
    for module in model.modules():
        if isinstance(module, nn.modules.batchnorm._BatchNorm):
            module.eps = float(batch_norm_eps)
    if weights is not None:
        load_darknet_weights(model, weights)
    return model.eval().to(resolve_device(device), memory_format=torch.channels_last)
