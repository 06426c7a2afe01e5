"""Frames in, model input out, with the :class:`InputMapping` back to each frame.

Frames are HWC uint8 RGB arrays (what ``xaikit.data`` readers return): one frame ``(H, W, 3)``,
a stack ``(N, H, W, 3)`` or a list of frames of any sizes. Clips for video models are
``(T, H, W, 3)`` (one clip) or a list of those.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np
import torch

from xaikit._arrays import check_frames
from xaikit._runtime import device as resolve_device
from xaikit.models.geometry import InputMapping


def as_frames(frames) -> list[np.ndarray]:
    """Return ``frames`` as a list of ``(H, W, 3)`` uint8 arrays, checking what came.

    Examples:
        >>> [f.shape for f in as_frames(np.zeros((2, 4, 6, 3), np.uint8))]
        [(4, 6, 3), (4, 6, 3)]
    """
    if isinstance(frames, torch.Tensor):
        frames = frames.detach().cpu().numpy()
    if isinstance(frames, np.ndarray):
        frames = [frames] if frames.ndim == 3 else list(frames) if frames.ndim == 4 else [frames]
    elif not isinstance(frames, Sequence):
        raise TypeError(f"frames must be an array or a list of arrays; got {type(frames).__name__}")
    if len(frames) == 0:
        raise ValueError("frames is empty; expected at least one (H, W, 3) uint8 RGB frame")
    return [check_frames(frame, f"frame {i}", single=True) for i, frame in enumerate(frames)]


class ResizePreprocess:
    """Darknet-style input: plain resize (OpenCV bilinear) or letterbox, RGB scaled to [0, 1].

    The plain resize is what Darknet's video path (``demo``) and OpenCV's ``blobFromImage`` do;
    letterbox (pad value 0.5) is pjreddie Darknet's image path.

    Args:
        input_size: ``(H, W)`` of the network input.
        letterbox: Keep the aspect ratio and pad, instead of stretching.

    Examples:
        >>> pre = ResizePreprocess((32, 64), letterbox=True)
        >>> x, mappings = pre(np.zeros((20, 20, 3), np.uint8), device="cpu")
        >>> tuple(x.shape), mappings[0].offset, float(x[0, 0, 0, 0]), float(x[0, 0, 0, 16])
        ((1, 3, 32, 64), (0, 16), 0.5, 0.0)
    """

    def __init__(self, input_size, letterbox: bool = False):
        self.input_size = (int(input_size[0]), int(input_size[1]))
        self.letterbox = bool(letterbox)

    def mapping(self, frame_shape) -> InputMapping:
        """The :class:`InputMapping` for a frame of ``frame_shape`` ``(H, W)``."""
        make = InputMapping.letterbox if self.letterbox else InputMapping.resize
        return make(frame_shape, self.input_size)

    def __call__(self, frames, device=None) -> tuple[torch.Tensor, list[InputMapping]]:
        """Frames → ``(B, 3, H, W)`` float32 in [0, 1] on ``device``, plus one mapping per frame."""
        height, width = self.input_size
        batch, mappings = [], []
        for frame in as_frames(frames):
            mapping = self.mapping(frame.shape[:2])
            (sy, sx), (ty, tx) = mapping.scale, mapping.offset
            new_w = round(frame.shape[1] * sx)
            new_h = round(frame.shape[0] * sy)
            resized = cv2.resize(frame, (new_w, new_h), interpolation=cv2.INTER_LINEAR)
            canvas = np.full((height, width, 3), 0.5, dtype=np.float32)
            canvas[int(ty) : int(ty) + new_h, int(tx) : int(tx) + new_w] = resized / 255.0
            batch.append(canvas)
            mappings.append(mapping)
        x = torch.from_numpy(np.stack(batch)).permute(0, 3, 1, 2).contiguous()
        return x.to(resolve_device(device)), mappings
