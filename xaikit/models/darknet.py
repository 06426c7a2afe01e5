"""YOLOv3 and YOLOv3-tiny from Darknet ``.cfg`` and ``.weights`` files, as a torch module."""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from xaikit._runtime import device as resolve_device
from xaikit.models.darknet_cfg import Section, parse_cfg
from xaikit.models.darknet_layers import ConvBlock, MaxPool, Route, Shortcut, Upsample, YoloLayer
from xaikit.models.darknet_weights import load_darknet_weights
from xaikit.models.geometry import InputMapping
from xaikit.models.preprocessing import ResizePreprocess
from xaikit.models.yolo import decode_yolo_head, non_max_suppression

#: The ``[net]`` options the network reads (the rest are training-only or refused).
NET_OPTIONS = ("width", "height", "channels", "letter_box")


class Darknet(nn.Module):
    """A Darknet network: one entry of ``module_list`` per cfg layer, numbered as in Darknet.

    ``module_list.14`` is Darknet (and OpenCV DNN) layer 14: a conv block's output is taken after
    its activation, a ``[yolo]`` layer's output is the raw head it reads. Build one with
    :func:`load_darknet` or :meth:`from_cfg`.

    The forward pass takes ``(B, C, H, W)`` float input in [0, 1] (RGB, no mean/std), where ``H``
    and ``W`` are any multiple of :attr:`max_stride` (the cfg's ``width``/``height`` are only the
    default for :meth:`preprocess`), and returns the raw heads: a tuple with one
    ``(B, A * (5 + C), H / s, W / s)`` tensor per ``[yolo]`` layer, in cfg order.

    Attributes:
        input_size: ``(H, W)`` from the cfg (or the override given to :func:`load_darknet`).
        channels: Input channels (cfg ``channels``, default 3).
        max_stride: Largest downsampling in the network; input sizes must be multiples of it.
        class_names: One name per class, or ``None``.
        letterbox: Whether :meth:`preprocess` letterboxes (else it stretches, as Darknet video);
            by default the cfg's ``letter_box`` (0 when absent).

    Every cfg option must be one the builders read or one listed as training-only
    (:data:`~xaikit.models.darknet_cfg.TRAINING_OPTIONS`); any other, and an option that
    would change the network in a way not implemented (``dilation=2``, ``new_coords=1``),
    is a ``ValueError`` naming the section, the option and its line.

    Examples:
        >>> cfg = '''[net]
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
        ... '''
        >>> model = Darknet.from_cfg(cfg)
        >>> [tuple(head.shape) for head in model(torch.zeros(1, 3, 32, 64))]
        [(1, 12, 16, 32)]
        >>> model.max_stride, model.heads[0].stride
        (2, 2)
    """

    def __init__(
        self,
        net: Section,
        layers: list[Section],
        class_names: list[str] | None = None,
        letterbox: bool | None = None,
    ):
        super().__init__()
        net.check_options(NET_OPTIONS)
        self.input_size = (net.get_int("height"), net.get_int("width"))
        self.channels = net.get_int("channels", 3)
        cfg_letterbox = bool(net.get_int("letter_box", 0))
        self.letterbox = cfg_letterbox if letterbox is None else bool(letterbox)
        self.module_list = nn.ModuleList()
        self._sources: list[list[int]] = []
        channels: list[int] = []
        strides: list[int] = []
        for section in layers:
            module, out_channels, stride = self._build(section, channels, strides)
            self.module_list.append(module)
            channels.append(out_channels)
            strides.append(stride)
        self.out_channels = channels
        self.strides = strides
        self.max_stride = max(strides)
        self._keep = {s for sources in self._sources for s in sources}
        self._head_indices = [i for i, m in enumerate(self.module_list) if isinstance(m, YoloLayer)]
        if not self._head_indices:
            raise ValueError("the cfg has no [yolo] layer; xaikit loads YOLO detectors only")
        classes = {self.module_list[i].classes for i in self._head_indices}
        if len(classes) != 1:
            raise ValueError(f"all [yolo] layers must have the same classes; got {classes}")
        self.num_classes = classes.pop()
        self.class_names = _check_names(class_names, self.num_classes)
        for size in self.input_size:
            if size <= 0 or size % self.max_stride:
                raise ValueError(
                    f"cfg width and height must be positive multiples of {self.max_stride} "
                    f"(the network's total stride); got {self.input_size[1]}x{self.input_size[0]}"
                )

    def _build(self, section: Section, channels: list[int], strides: list[int]):
        index = section.index
        previous_channels = channels[-1] if channels else self.channels
        previous_stride = strides[-1] if strides else 1
        sources: list[int] = []
        kind = section.kind
        if kind == "convolutional":
            module = ConvBlock(section, previous_channels)
            out_channels, stride = module.conv.out_channels, previous_stride * module.stride
        elif kind == "maxpool":
            module = MaxPool(section)
            out_channels, stride = previous_channels, previous_stride * module.stride
        elif kind == "upsample":
            module = Upsample(section)
            if previous_stride % module.factor:
                raise ValueError(f"{section._where()}: upsampling a stride-{previous_stride} grid")
            out_channels, stride = previous_channels, previous_stride // module.factor
        elif kind == "route":
            module = Route(section, index)
            sources = module.sources
            if len({strides[s] for s in sources}) != 1:
                grids = {s: strides[s] for s in sources}
                raise ValueError(f"{section._where()}: joins layers of different strides {grids}")
            if any(channels[s] % module.groups for s in sources):
                raise ValueError(f"{section._where()}: groups must divide every input's channels")
            out_channels = sum(channels[s] // module.groups for s in sources)
            stride = strides[sources[0]]
        elif kind == "shortcut":
            module = Shortcut(section, index)
            sources = module.sources
            if (
                channels[sources[0]] != channels[sources[1]]
                or len({strides[s] for s in sources}) > 1
            ):
                raise ValueError(
                    f"{section._where()}: adds layers {sources} whose shapes differ "
                    f"(channels {[channels[s] for s in sources]})"
                )
            out_channels, stride = previous_channels, previous_stride
        else:  # "yolo"; parse_cfg has rejected every other kind
            module = YoloLayer(section, previous_stride)
            if previous_channels != module.channels:
                raise ValueError(
                    f"{section._where()}: {len(module.anchors)} anchors x (5 + "
                    f"{module.classes} classes) needs {module.channels} input channels, but "
                    f"layer {index - 1} gives {previous_channels}; set its filters="
                    f"{module.channels}"
                )
            out_channels, stride = previous_channels, previous_stride
        self._sources.append(sources)
        return module, out_channels, stride

    @classmethod
    def from_cfg(
        cls, cfg: str | Path, class_names: list[str] | None = None, letterbox: bool | None = None
    ) -> Darknet:
        """Build the network of a cfg (path or text) with random weights, on the CPU."""
        net, layers = parse_cfg(cfg)
        return cls(net, layers, class_names=class_names, letterbox=letterbox)

    @property
    def heads(self) -> list[YoloLayer]:
        """The ``[yolo]`` layers, in cfg order (the order of the forward outputs)."""
        return [self.module_list[i] for i in self._head_indices]

    @property
    def head_layer_names(self) -> list[str]:
        """Module names of the ``[yolo]`` layers, e.g. ``['module_list.16', 'module_list.23']``."""
        return [f"module_list.{i}" for i in self._head_indices]

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        if x.ndim != 4 or x.shape[1] != self.channels:
            raise ValueError(
                f"input must be (B, {self.channels}, H, W); got shape {tuple(x.shape)}"
            )
        height, width = x.shape[-2:]
        if height % self.max_stride or width % self.max_stride:
            raise ValueError(
                f"input height and width must be multiples of {self.max_stride}; got "
                f"{height}x{width}"
            )
        kept: dict[int, torch.Tensor] = {}
        heads = []
        for index, (module, sources) in enumerate(
            zip(self.module_list, self._sources, strict=True)
        ):
            if sources:
                x = module(*[x if s == index - 1 else kept[s] for s in sources])
            else:
                x = module(x)
            if index in self._keep:
                kept[index] = x
            if isinstance(module, YoloLayer):
                heads.append(x)
        return tuple(heads)

    def decode(self, outputs: tuple[torch.Tensor, ...]) -> torch.Tensor:
        """Raw heads → ``(B, N, 5 + C)`` predictions, heads concatenated in cfg order.

        Columns: ``x0, y0, x1, y1`` in input pixels, objectness, class probabilities given an
        object (see :func:`~xaikit.models.yolo.decode_yolo_head`). Differentiable.
        """
        if len(outputs) != len(self._head_indices):
            raise ValueError(f"expected {len(self._head_indices)} head outputs; got {len(outputs)}")
        return torch.cat(
            [
                decode_yolo_head(raw, head.anchors, head.stride, head.scale_x_y)
                for raw, head in zip(outputs, self.heads, strict=True)
            ],
            dim=1,
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

    def preprocess(self, frames, device=None) -> tuple[torch.Tensor, list[InputMapping]]:
        """HWC uint8 RGB frame(s) → ``(B, 3, H, W)`` input at :attr:`input_size`, plus mappings.

        ``device=None`` uses the device of the model's parameters.
        """
        device = next(self.parameters()).device if device is None else device
        return ResizePreprocess(self.input_size, self.letterbox)(frames, device=device)

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
    weights: str | Path | None,
    device=None,
    *,
    class_names=None,
    letterbox: bool | None = None,
    input_size: tuple[int, int] | None = None,
) -> Darknet:
    """Load a YOLOv3 / YOLOv3-tiny (or similar) Darknet model, in eval mode.

    Args:
        cfg: Path to the ``.cfg`` file (or its text).
        weights: Path to the ``.weights`` file (either header version), or ``None`` for random
            weights.
        device: Where the model goes; ``None`` picks CUDA, then MPS, then CPU.
        class_names: A list of names or a ``.names`` file (one per line), or ``None``.
        letterbox: Make :meth:`Darknet.preprocess` letterbox instead of stretch; ``None``
            follows the cfg's ``letter_box``.
        input_size: ``(H, W)`` to preprocess to instead of the cfg's ``height``/``width``.

    Returns:
        The :class:`Darknet` module in eval mode on ``device``.

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
    model = Darknet.from_cfg(cfg, class_names=class_names, letterbox=letterbox)
    if input_size is not None:
        height, width = (int(v) for v in input_size)
        if height <= 0 or width <= 0 or height % model.max_stride or width % model.max_stride:
            raise ValueError(
                f"input_size must be (H, W) multiples of {model.max_stride}; got {input_size}"
            )
        model.input_size = (height, width)
    if weights is not None:
        load_darknet_weights(model, weights)
    return model.eval().to(resolve_device(device))
