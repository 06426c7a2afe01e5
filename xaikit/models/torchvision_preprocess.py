"""Preprocessing for torchvision models, from their weights' transform presets.

The pixels go through torchvision's own preset (so they are exactly what the weights expect);
the geometry of each preset (resize, centre crop) is recorded as an :class:`InputMapping`.
"""

from __future__ import annotations

import copy

import numpy as np
import torch
from torch import nn

from xaikit._arrays import check_frames, height_width
from xaikit._runtime import device as resolve_device
from xaikit.models.geometry import InputMapping
from xaikit.models.preprocessing import as_frames

TASKS = ("classification", "detection", "video")


def _as_clips(clips) -> list[np.ndarray]:
    if isinstance(clips, torch.Tensor):
        clips = clips.detach().cpu().numpy()
    if isinstance(clips, np.ndarray):
        if clips.ndim == 4:
            clips = [clips]
        elif clips.ndim != 5:
            raise ValueError(
                f"a clip must be (T, H, W, 3) uint8 RGB, or (N, T, H, W, 3) for several; "
                f"got shape {clips.shape}"
            )
    if len(clips) == 0:
        raise ValueError("clips is empty; expected at least one (T, H, W, 3) uint8 RGB clip")
    return [check_frames(clip, f"clip {i}") for i, clip in enumerate(clips)]


class PresetPreprocess:
    """Frames (or clips) → model input on a device, with one :class:`InputMapping` per item.

    Args:
        preset: The torchvision transform preset of the weights (``weights.transforms()``).
        task: ``"classification"`` (frames → ``(B, 3, H, W)``), ``"video"`` (clips ``(T, H, W,
            3)`` → ``(B, 3, T, H, W)``) or ``"detection"`` (frames → ``(B, 3, H, W)`` float in
            [0, 1] at frame size; a list when sizes differ; the model resizes internally and
            reports boxes in frame pixels, so the mapping is the identity: see
            :func:`detector_canvas_mapping` for its feature maps).

    Examples:
        >>> from torchvision.models import ResNet18_Weights
        >>> pre = PresetPreprocess(ResNet18_Weights.DEFAULT.transforms(), "classification")
        >>> x, mappings = pre(np.zeros((480, 640, 3), np.uint8), device="cpu")
        >>> tuple(x.shape), mappings[0].offset
        ((1, 3, 224, 224), (-16.0, -58.0))
    """

    def __init__(self, preset: nn.Module, task: str):
        if task not in TASKS:
            raise ValueError(f"task must be one of {TASKS}; got {task!r}")
        self.preset = preset
        self.task = task

    def stretched(self, size) -> PresetPreprocess:
        """The same preset without its centre crop: every frame is resized to ``size``.

        The preset's interpolation, value scaling and mean / std normalisation are kept; only
        the geometry changes, so a map of the input covers the whole frame (needed where maps
        are compared with something over the whole image, e.g. human fixations). The aspect
        ratio is not kept.

        Args:
            size: ``(height, width)`` of the model input.

        Examples:
            >>> from torchvision.models import ResNet18_Weights
            >>> pre = PresetPreprocess(ResNet18_Weights.DEFAULT.transforms(), "classification")
            >>> x, mappings = pre.stretched((224, 224))(np.zeros((480, 640, 3), np.uint8), "cpu")
            >>> tuple(x.shape), mappings[0].offset, mappings[0].scale
            ((1, 3, 224, 224), (0.0, 0.0), (0.4666666666666667, 0.35))
        """
        if self.task != "classification":
            raise ValueError(f"stretched() is for classification presets; this one is {self.task}")
        height, width = height_width(size, "size", image=False)
        preset = copy.copy(self.preset)
        preset.resize_size = [height, width]
        preset.crop_size = [height, width]
        return PresetPreprocess(preset, self.task)

    def mapping(self, frame_shape) -> InputMapping:
        """The :class:`InputMapping` for a frame of ``frame_shape`` ``(H, W)``."""
        if self.task == "detection":
            return InputMapping.identity(frame_shape)
        return InputMapping.resize_crop(frame_shape, self.preset.resize_size, self.preset.crop_size)

    def __call__(self, frames, device=None):
        device = resolve_device(device)
        if self.task == "video":
            items = [torch.from_numpy(clip).permute(0, 3, 1, 2) for clip in _as_clips(frames)]
        else:
            items = [torch.from_numpy(frame).permute(2, 0, 1) for frame in as_frames(frames)]
        mappings = [self.mapping(item.shape[-2:]) for item in items]
        # Presets resize on the device: cheaper on a GPU than on the CPU.
        outputs = [self.preset(item.to(device)) for item in items]
        if len({tuple(o.shape) for o in outputs}) == 1:
            return torch.stack(outputs), mappings
        return outputs, mappings


def detector_canvas_mapping(model: nn.Module, frame_shape) -> InputMapping:
    """Where a frame lands on the padded canvas a torchvision detector's backbone sees.

    ``GeneralizedRCNNTransform`` resizes (shorter side to ``min_size``, longer at most
    ``max_size``, or to ``fixed_size``), then pads right/bottom to a multiple of
    ``size_divisible``. Feature maps cover that canvas; map them back with this mapping's
    :meth:`~InputMapping.map_to_frame` (after resizing them to the canvas size), so the padding
    is dropped instead of stretched over the frame.

    Examples:
        >>> from torchvision.models.detection import fasterrcnn_mobilenet_v3_large_320_fpn
        >>> model = fasterrcnn_mobilenet_v3_large_320_fpn(weights=None, weights_backbone=None)
        >>> m = detector_canvas_mapping(model, (480, 640))
        >>> m.input_size, m.valid_region
        ((320, 448), (0.0, 0.0, 426.0, 320.0))
    """
    transform = getattr(model, "transform", None)
    if transform is None or not hasattr(transform, "min_size"):
        raise TypeError("model must be a torchvision detector with a GeneralizedRCNNTransform")
    height, width = (int(v) for v in frame_shape)
    if transform.fixed_size is not None:
        new_w, new_h = transform.fixed_size
    else:
        scale = min(
            transform.min_size[-1] / min(height, width), transform.max_size / max(height, width)
        )
        new_h, new_w = int(np.floor(height * scale)), int(np.floor(width * scale))
    divisor = transform.size_divisible
    canvas = (int(np.ceil(new_h / divisor) * divisor), int(np.ceil(new_w / divisor) * divisor))
    return InputMapping((height, width), canvas, (new_h / height, new_w / width))
