"""Read Darknet ``.cfg`` files into a list of sections with typed option access."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path

#: The layer types xaikit builds: every one OpenCV DNN's Darknet importer reads, and
#: ``[local_avgpool]``. (Not built: ``[gaussian_yolo]``, ``[reorg3d]``, ``[crnn]``, ``[rnn]``,
#: ``[lstm]``, ``[conv_lstm]``, ``[deconvolutional]``, ``[batchnorm]``, ``[empty]`` ...,
#: which OpenCV DNN does not read either.)
SUPPORTED_LAYERS = (
    "convolutional", "connected", "maxpool", "local_avgpool", "avgpool", "upsample", "route",
    "shortcut", "scale_channels", "sam", "reorg", "dropout", "softmax", "cost", "yolo", "region",
)  # fmt: skip

_HEAD_TRAINING = frozenset(
    "jitter ignore_thresh truth_thresh random objectness_smooth resize iou_thresh "
    "iou_normalizer cls_normalizer obj_normalizer iou_loss iou_thresh_kind max_delta "
    "focal_loss label_smooth_eps counters_per_class uc_normalizer delta_normalizer "
    "show_details thresh max rescore bias_match object_scale noobject_scale class_scale "
    "coord_scale absolute log map track_history_size sim_thresh dets_for_track dets_for_show "
    "track_ciou_norm".split()
)

#: Options that change nothing at inference (training schedule, augmentation, loss), per
#: section kind: accepted and ignored. Every other option must be one the builder reads.
TRAINING_OPTIONS: dict[str, frozenset[str]] = {
    "net": frozenset(
        "batch subdivisions momentum decay angle saturation exposure hue learning_rate "
        "burn_in max_batches policy steps scales max_crop min_crop power aspect mosaic "
        "ema_alpha flip blur gaussian_noise mixup cutmix adam b1 b2 eps gamma step "
        "label_smooth_eps loss_scale dynamic_minibatch seq_scales max_chart_loss "
        "optimized_memory workspace_size_limit_mb track time_steps augment_speed inputs "
        "sequential_subdivisions try_fix_nan gaussian_noise adversarial_lr mosaic_bound "
        "contrastive contrastive_jit_flip contrastive_color unsupervised resize_step "
        "show_receptive_field use_cuda_graph center letter_box_train learning_rate_min "
        "batches_per_cycle batches_cycle_mult init_sequential_subdivisions "
        "weights_reject_freq equidistant_point badlabels_rejection_percentage "
        "num_sigmas_reject_badlabels attention scale sgdr_cycle sgdr_mult".split()
    ),
    "convolutional": frozenset({"stopbackward", "train_only_bn", "assisted_excitation"}),
    "route": frozenset({"stopbackward"}),
    "connected": frozenset({"stopbackward"}),
    "yolo": _HEAD_TRAINING,
    "region": _HEAD_TRAINING,
}


@dataclass
class Section:
    """One ``[kind]`` block of a Darknet cfg.

    Attributes:
        kind: The block name without brackets, lower case (``"convolutional"``, ``"net"``, ...).
        options: The ``key=value`` lines of the block, as strings.
        line: The 1-based line of the ``[kind]`` header in the file, for error messages.
        index: The Darknet layer index (0-based, ``[net]`` excluded); ``-1`` for ``[net]``.
        option_lines: The 1-based line of each option, for error messages.
    """

    kind: str
    options: dict[str, str] = field(default_factory=dict)
    line: int = 0
    index: int = -1
    option_lines: dict[str, int] = field(default_factory=dict)

    def _where(self) -> str:
        name = "[net]" if self.index < 0 else f"layer {self.index} [{self.kind}]"
        return f"{name} (line {self.line})"

    def _raw(self, key: str, default):
        if key not in self.options:
            if default is None:
                raise ValueError(f"{self._where()} needs a '{key}=' option; none was given")
            return None
        return self.options[key]

    def get_int(self, key: str, default: int | None = None) -> int:
        """Option ``key`` as an int; ``default`` when absent (no default: absent raises)."""
        raw = self._raw(key, default)
        if raw is None:
            return default
        try:
            return int(raw)
        except ValueError:
            raise ValueError(f"{self._where()}: '{key}' must be an integer; got {raw!r}") from None

    def get_float(self, key: str, default: float | None = None) -> float:
        """Option ``key`` as a float, ``default`` when absent."""
        raw = self._raw(key, default)
        if raw is None:
            return default
        try:
            return float(raw)
        except ValueError:
            raise ValueError(f"{self._where()}: '{key}' must be a number; got {raw!r}") from None

    def get_ints(self, key: str, default: list[int] | None = None) -> list[int]:
        """Option ``key`` as a comma-separated list of ints (``"1,2,3"``)."""
        return self._list(key, default, int, "integers")

    def get_floats(self, key: str, default: list[float] | None = None) -> list[float]:
        """Option ``key`` as a comma-separated list of numbers (``"0.5, 1.2"``)."""
        return self._list(key, default, float, "numbers")

    def _list(self, key: str, default, cast, what: str) -> list:
        raw = self._raw(key, default)
        if raw is None:
            return list(default)
        try:
            return [cast(part) for part in raw.split(",") if part.strip()]
        except ValueError:
            raise ValueError(
                f"{self._where()}: '{key}' must be comma-separated {what}; got {raw!r}"
            ) from None

    def check_options(
        self, read: Collection[str], neutral: Mapping[str, float] | None = None
    ) -> None:
        """Refuse every option the builder would ignore although it may change the network.

        Args:
            read: the options the builder of this section reads.
            neutral: options xaikit does not implement, each with the value that leaves the
                network as built (``dilation=1``): accepted only at that value.

        Options in :data:`TRAINING_OPTIONS` for this kind are accepted.

        Raises:
            ValueError: an unknown option, or an unimplemented one at another value, naming
                the section, the option and its line.

        Examples:
            >>> net, (layer,) = parse_cfg("[net]\\nwidth=8\\n[maxpool]\\nsize=2\\nsise=3\\n")
            >>> layer.check_options({"size", "stride"})  # doctest: +ELLIPSIS
            Traceback (most recent call last):
            ...
            ValueError: layer 0 [maxpool] (line 3): option 'sise=3' on line 5 is not ...
        """
        ignored = TRAINING_OPTIONS.get(self.kind, frozenset())
        neutral = neutral or {}
        for key, value in self.options.items():
            if key in read or key in ignored:
                continue
            where = f"{self._where()}: option '{key}={value}' on line {self.option_lines[key]}"
            if key in neutral:
                if _number(value) == neutral[key]:
                    continue
                raise ValueError(
                    f"{where} changes the network, and xaikit does not implement it yet "
                    f"(only {key}={neutral[key]:g} is supported)"
                )
            raise ValueError(
                f"{where} is not an option xaikit knows for [{self.kind}] (misspelt, or not "
                f"implemented); it reads: {', '.join(sorted(set(read) | set(neutral)))}"
            )

    def get_str(self, key: str, default: str | None = None) -> str:
        """Option ``key`` as a lower-case string."""
        raw = self._raw(key, default)
        return default if raw is None else raw.strip().lower()


def _number(value: str) -> float | None:
    try:
        return float(value)
    except ValueError:
        return None


def parse_cfg(source: str | Path) -> tuple[Section, list[Section]]:
    """Parse a Darknet cfg into its ``[net]`` block and its layer blocks.

    Comments start with ``#`` or ``;``. Layer indices follow Darknet (and OpenCV DNN): the first
    block after ``[net]`` is layer 0.

    Args:
        source: Path to a ``.cfg`` file, or the cfg text itself (anything containing a newline
            is taken as text).

    Returns:
        ``(net, layers)``: the ``[net]`` (or ``[network]``) section and the layer sections.

    Raises:
        FileNotFoundError: ``source`` names a file that does not exist.
        ValueError: the text does not start with ``[net]``, has a line outside any block or
            without ``=``, gives an option twice in a block, has no layers, or uses a layer
            type not in ``SUPPORTED_LAYERS``. (Each builder refuses the options it does not
            read: :meth:`Section.check_options`.)

    Examples:
        >>> net, layers = parse_cfg("[net]\\nwidth=64\\nheight=32\\n[maxpool]\\nsize=2\\n")
        >>> net.get_int("width"), [layer.kind for layer in layers], layers[0].get_int("size")
        (64, ['maxpool'], 2)
    """
    text, source_name = _read_text(source)

    sections: list[Section] = []
    for number, raw_line in enumerate(text.splitlines(), start=1):
        line = raw_line.split("#", 1)[0].split(";", 1)[0].strip()
        if not line:
            continue
        if line.startswith("["):
            if not line.endswith("]"):
                raise ValueError(f"{source_name} line {number}: unclosed section header {line!r}")
            sections.append(Section(kind=line[1:-1].strip().lower(), line=number))
            continue
        if not sections:
            raise ValueError(
                f"{source_name} line {number}: option {line!r} appears before the first [section]"
            )
        if "=" not in line:
            raise ValueError(f"{source_name} line {number}: expected 'key=value'; got {line!r}")
        key, value = line.split("=", 1)
        key, section = key.strip().lower(), sections[-1]
        if key in section.options:
            raise ValueError(
                f"{source_name} line {number}: option '{key}' is given twice in "
                f"[{section.kind}] (line {section.line}); first on line {section.option_lines[key]}"
            )
        section.options[key] = value.strip()
        section.option_lines[key] = number

    if not sections or sections[0].kind not in ("net", "network"):
        first = sections[0].kind if sections else "nothing"
        raise ValueError(f"{source_name}: a Darknet cfg must start with [net]; found {first}")
    net, layers = sections[0], sections[1:]
    if not layers:
        raise ValueError(f"{source_name}: the cfg has a [net] block but no layers")
    for index, layer in enumerate(layers):
        layer.index = index
        if layer.kind not in SUPPORTED_LAYERS:
            raise ValueError(
                f"{source_name}: layer {index} (line {layer.line}) is [{layer.kind}], which "
                f"xaikit does not implement; supported layer types: "
                f"{', '.join(SUPPORTED_LAYERS)}"
            )
    return net, layers


def _read_text(source: str | Path) -> tuple[str, str]:
    """A cfg's text and its name for messages: a file's path, or ``<cfg text>``."""
    if isinstance(source, Path) or "\n" not in str(source):
        path = Path(source)
        if not path.is_file():
            raise FileNotFoundError(f"Darknet cfg file not found: {path}")
        return path.read_text(encoding="utf-8", errors="replace"), str(path)
    return str(source), "<cfg text>"


def set_cfg_options(source: str | Path, changes: Mapping[int, Mapping[str, object]]) -> str:
    """The cfg text with options set, everything else (comments, order) kept.

    Args:
        source: A ``.cfg`` path or its text.
        changes: Per section (``-1`` for ``[net]``, else the Darknet layer index) the options
            to set; an option the section lacks is added under its header.

    Returns:
        The new cfg text.

    Examples:
        >>> text = "[net]\\nwidth=64 # w\\nheight=32\\n[maxpool]\\nsize=2\\n"
        >>> print(set_cfg_options(text, {-1: {"width": 96}, 0: {"stride": 2}}), end="")
        [net]
        width=96
        height=32
        [maxpool]
        stride=2
        size=2
    """
    net, layers = parse_cfg(source)
    sections = {-1: net, **{layer.index: layer for layer in layers}}
    lines = _read_text(source)[0].splitlines()
    added: dict[int, list[str]] = {}
    for index, options in changes.items():
        if index not in sections:
            raise ValueError(f"the cfg has no layer {index}")
        section = sections[index]
        for key, value in options.items():
            if key in section.option_lines:
                lines[section.option_lines[key] - 1] = f"{key}={value}"
            else:
                added.setdefault(section.line, []).append(f"{key}={value}")
    for header in sorted(added, reverse=True):
        lines[header:header] = added[header]
    return "\n".join(lines) + "\n"
