"""Read Darknet ``.cfg`` files into a list of sections with typed option access."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

SUPPORTED_LAYERS = ("convolutional", "maxpool", "upsample", "route", "shortcut", "yolo")


@dataclass
class Section:
    """One ``[kind]`` block of a Darknet cfg.

    Attributes:
        kind: The block name without brackets, lower case (``"convolutional"``, ``"net"``, ...).
        options: The ``key=value`` lines of the block, as strings.
        line: The 1-based line of the ``[kind]`` header in the file, for error messages.
        index: The Darknet layer index (0-based, ``[net]`` excluded); ``-1`` for ``[net]``.
    """

    kind: str
    options: dict[str, str] = field(default_factory=dict)
    line: int = 0
    index: int = -1

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
        raw = self._raw(key, default)
        if raw is None:
            return list(default)
        try:
            return [int(part) for part in raw.split(",") if part.strip()]
        except ValueError:
            raise ValueError(
                f"{self._where()}: '{key}' must be comma-separated integers; got {raw!r}"
            ) from None

    def get_str(self, key: str, default: str | None = None) -> str:
        """Option ``key`` as a lower-case string."""
        raw = self._raw(key, default)
        return default if raw is None else raw.strip().lower()


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
            without ``=``, has no layers, or uses a layer type not in ``SUPPORTED_LAYERS``.

    Examples:
        >>> net, layers = parse_cfg("[net]\\nwidth=64\\nheight=32\\n[maxpool]\\nsize=2\\n")
        >>> net.get_int("width"), [layer.kind for layer in layers], layers[0].get_int("size")
        (64, ['maxpool'], 2)
    """
    source_name = "<cfg text>"
    if isinstance(source, Path) or "\n" not in str(source):
        path = Path(source)
        if not path.is_file():
            raise FileNotFoundError(f"Darknet cfg file not found: {path}")
        source_name = str(path)
        text = path.read_text(encoding="utf-8", errors="replace")
    else:
        text = str(source)

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
        sections[-1].options[key.strip().lower()] = value.strip()

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
                f"xaikit cannot build; supported layer types: {', '.join(SUPPORTED_LAYERS)}"
            )
    return net, layers
