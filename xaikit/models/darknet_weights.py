"""Read and write Darknet ``.weights`` files.

Layout: a header of three int32 (``major, minor, revision``) and a "seen" image counter that is
uint64 when ``major * 10 + minor >= 2`` (and both are below 1000) and int32 otherwise; then
float32 values for every ``[convolutional]`` layer in cfg order: with batch norm ``beta, gamma,
running_mean, running_var``, else the conv bias; then the conv weights ``(out, in / groups, k,
k)`` row-major. A ``[connected]`` layer stores its bias (the batch norm's beta), the weights
``(out, in)``, then with batch norm ``gamma, running_mean, running_var``. Other layer types
store nothing.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from xaikit._atomic import atomic_file
from xaikit.models.darknet_layers import Connected, ConvBlock

DEFAULT_VERSION = (0, 2, 5)


@dataclass(frozen=True)
class WeightsHeader:
    """The header of a ``.weights`` file.

    Attributes:
        version: ``(major, minor, revision)``.
        seen: Images seen in training.
        size: Header length in bytes (20 with a 64-bit ``seen``, 16 without).
    """

    version: tuple[int, int, int]
    seen: int
    size: int


def _seen_is_64_bit(major: int, minor: int) -> bool:
    return major * 10 + minor >= 2 and major < 1000 and minor < 1000


def _tensors(model: nn.Module) -> list[torch.Tensor]:
    """The tensors a ``.weights`` file holds, in file order."""
    tensors = []
    for block in model.modules():
        if isinstance(block, ConvBlock):
            if "bn" in block._modules:
                bn = block.bn
                tensors += [bn.bias, bn.weight, bn.running_mean, bn.running_var]
            else:
                tensors.append(block.conv.bias)
            tensors.append(block.conv.weight)
        elif isinstance(block, Connected):
            if block.bn is None:
                tensors += [block.linear.bias, block.linear.weight]
            else:
                bn = block.bn
                tensors += [bn.bias, block.linear.weight, bn.weight, bn.running_mean,
                            bn.running_var]  # fmt: skip
    if not tensors:
        raise ValueError("the model has no Darknet [convolutional] layers to read or write")
    return tensors


def weights_file_size(model: nn.Module, version=DEFAULT_VERSION) -> int:
    """Bytes a ``.weights`` file for ``model`` takes with the header of ``version``.

    Examples:
        >>> from xaikit.models.darknet import Darknet
        >>> cfg = "[net]\\nwidth=32\\nheight=32\\n[convolutional]\\nfilters=6\\nsize=1\\n"
        >>> cfg += "activation=linear\\n[yolo]\\nanchors=4,4\\nclasses=1\\n"
        >>> weights_file_size(Darknet.from_cfg(cfg))  # 20 + 4 * (6 biases + 6*3 weights)
        116
    """
    major, minor = version[0], version[1]
    header = 20 if _seen_is_64_bit(major, minor) else 16
    return header + 4 * sum(t.numel() for t in _tensors(model))


def read_header(path: str | Path) -> WeightsHeader:
    """Read the header of a ``.weights`` file.

    Raises:
        FileNotFoundError: no file at ``path``.
        ValueError: the file is shorter than its header.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"Darknet weights file not found: {path}")
    with path.open("rb") as file:
        head = file.read(20)
    if len(head) < 12:
        raise ValueError(f"{path} has {len(head)} bytes; a Darknet .weights header needs >= 16")
    major, minor, revision = (int(v) for v in np.frombuffer(head[:12], dtype="<i4"))
    size = 20 if _seen_is_64_bit(major, minor) else 16
    if len(head) < size:
        raise ValueError(f"{path} has {len(head)} bytes; its header alone needs {size}")
    seen = int(np.frombuffer(head[12:size], dtype="<u8" if size == 20 else "<i4")[0])
    return WeightsHeader((major, minor, revision), seen, size)


def load_darknet_weights(model: nn.Module, path: str | Path) -> WeightsHeader:
    """Copy a ``.weights`` file into ``model``'s conv and batch-norm tensors, in place.

    Args:
        model: A :class:`~xaikit.models.darknet.Darknet` built from the matching cfg.
        path: The ``.weights`` file.

    Returns:
        The file's header.

    Raises:
        FileNotFoundError: no file at ``path``.
        ValueError: the file size is not what the cfg needs; the message gives the expected and
            actual byte counts (a truncated download, or a cfg with other ``classes``/``filters``).
    """
    header = read_header(path)
    tensors = _tensors(model)
    expected = header.size + 4 * sum(t.numel() for t in tensors)
    actual = Path(path).stat().st_size
    if actual != expected:
        problem = "truncated" if actual < expected else "too large"
        raise ValueError(
            f"{path} is {problem} for this cfg: expected {expected:,} bytes "
            f"({header.size}-byte header + 4 x {(expected - header.size) // 4:,} parameters), "
            f"found {actual:,} bytes. Check that the cfg (classes, filters) matches the weights."
        )
    major, minor, _ = header.version
    if (major > 1000 or minor > 1000) and any(isinstance(m, Connected) for m in model.modules()):
        raise ValueError(
            f"{path}: header version {header.version} marks transposed [connected] weights, "
            "which xaikit does not read"
        )
    _materialize(model)
    with open(path, "rb") as file, torch.no_grad():
        file.seek(header.size)
        for tensor in _tensors(model):
            if (
                tensor.device.type != "cpu"
                or not tensor.is_contiguous()
                or sys.byteorder != "little"
            ):
                values = np.fromfile(file, dtype="<f4", count=tensor.numel())
                tensor.copy_(torch.from_numpy(values).reshape(tensor.shape))
            else:  # straight into the tensor's memory: no second copy of the weights
                file.readinto(memoryview(tensor.detach().numpy()).cast("B"))
    return header


def _materialize(model: nn.Module) -> None:
    """Give storage to the conv and linear blocks a model was built with on ``meta``."""
    for block in model.modules():
        if isinstance(block, (ConvBlock, Connected)) and any(
            t.is_meta for t in (*block.parameters(), *block.buffers())
        ):
            block.to_empty(device="cpu")
            for module in block.modules():
                if isinstance(module, nn.modules.batchnorm._BatchNorm):
                    module.num_batches_tracked.zero_()


def save_darknet_weights(
    model: nn.Module, path: str | Path, seen: int = 0, version=DEFAULT_VERSION
) -> Path:
    """Write ``model``'s conv and batch-norm tensors as a Darknet ``.weights`` file.

    The file loads in Darknet, OpenCV DNN (``cv2.dnn.readNetFromDarknet``) and
    :func:`~xaikit.models.load_darknet` with the same cfg.

    Args:
        model: A :class:`~xaikit.models.darknet.Darknet`.
        path: Where to write; parent folders are created.
        seen: The images-seen counter for the header.
        version: ``(major, minor, revision)``; ``major * 10 + minor >= 2`` writes a 64-bit
            ``seen``.

    Returns:
        The path written.

    Examples:
        >>> import tempfile, os
        >>> from xaikit.models.darknet import Darknet
        >>> cfg = "[net]\\nwidth=32\\nheight=32\\n[convolutional]\\nfilters=6\\nsize=1\\n"
        >>> cfg += "activation=linear\\n[yolo]\\nanchors=4,4\\nclasses=1\\n"
        >>> path = save_darknet_weights(Darknet.from_cfg(cfg), tempfile.mkdtemp() + "/a.weights")
        >>> os.path.getsize(path), read_header(path)
        (116, WeightsHeader(version=(0, 2, 5), seen=0, size=20))
    """
    major, minor, revision = (int(v) for v in version)
    if seen < 0:
        raise ValueError(f"seen must be >= 0; got {seen}")
    path = Path(path)
    seen_dtype = "<u8" if _seen_is_64_bit(major, minor) else "<i4"
    with atomic_file(path, "wb") as file:  # a kill or a full disk keeps the previous file
        file.write(np.array([major, minor, revision], dtype="<i4").tobytes())
        file.write(np.array([seen], dtype=seen_dtype).tobytes())
        for tensor in _tensors(model):
            file.write(tensor.detach().to("cpu", torch.float32).numpy().astype("<f4").tobytes())
    return path
