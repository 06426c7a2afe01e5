"""The map between original frame pixels and model input pixels (resize, crop, padding).

Convention: continuous pixel-edge coordinates. Pixel ``(row, col)`` covers ``[col, col + 1)``
horizontally, so a box ``(x0, y0, x1, y1)`` that covers whole pixels has integer corners, and
the frame point ``x`` lands at the input point ``u = x * scale_x + offset_x`` (same for y).
Resizing (any interpolation that aligns pixel edges, as OpenCV and torchvision do), centre
cropping and padding are all of this form, so one small dataclass undoes them all.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F


def _size(value, name: str) -> tuple[int, int]:
    value = [int(v) for v in value]
    if len(value) == 1:  # torchvision's square crop_size=[224]
        value = value * 2
    if len(value) != 2:
        raise ValueError(f"{name} must be (H, W); got {value}")
    height, width = value
    if height <= 0 or width <= 0:
        raise ValueError(f"{name} must be two positive integers (H, W); got {tuple(value)}")
    return height, width


def torchvision_resized_size(frame_size, resize_size) -> tuple[int, int]:
    """Output ``(H, W)`` of torchvision's ``resize``: one int sets the shorter side, two set both.

    Examples:
        >>> torchvision_resized_size((480, 640), [256])
        (256, 341)
        >>> torchvision_resized_size((480, 640), (128, 171))
        (128, 171)
    """
    height, width = _size(frame_size, "frame_size")
    resize_size = [int(s) for s in resize_size]
    if len(resize_size) == 2:
        return resize_size[0], resize_size[1]
    if len(resize_size) != 1:
        raise ValueError(f"resize_size must hold one or two integers; got {resize_size}")
    short, long = sorted((height, width))
    new_short, new_long = resize_size[0], int(resize_size[0] * long / short)
    return (new_short, new_long) if height <= width else (new_long, new_short)


@dataclass(frozen=True)
class InputMapping:
    """Axis-aligned map from frame pixels to model input pixels: ``u = x * scale + offset``.

    Attributes:
        frame_size: ``(H, W)`` of the original frame.
        input_size: ``(H, W)`` of the model input (after resize, crop, padding).
        scale: ``(scale_y, scale_x)``: input pixels per frame pixel.
        offset: ``(offset_y, offset_x)`` in input pixels: negative after a crop, positive after
            padding on the top / left.

    Examples:
        >>> m = InputMapping.resize_crop((480, 640), resize_size=[256], crop_size=(224, 224))
        >>> m.scale, m.offset
        ((0.5333333333333333, 0.5328125), (-16.0, -58.0))
        >>> m.boxes_to_frame(np.array([[0.0, 0.0, 224.0, 224.0]])).round(1).tolist()
        [[108.9, 30.0, 529.3, 450.0]]
    """

    frame_size: tuple[int, int]
    input_size: tuple[int, int]
    scale: tuple[float, float]
    offset: tuple[float, float] = (0.0, 0.0)

    @classmethod
    def identity(cls, size) -> InputMapping:
        """The frame is the input."""
        size = _size(size, "size")
        return cls(size, size, (1.0, 1.0))

    @classmethod
    def resize(cls, frame_size, input_size) -> InputMapping:
        """Plain resize (aspect ratio not kept), as Darknet's video path and OpenCV DNN do."""
        (fh, fw), (ih, iw) = _size(frame_size, "frame_size"), _size(input_size, "input_size")
        return cls((fh, fw), (ih, iw), (ih / fh, iw / fw))

    @classmethod
    def letterbox(cls, frame_size, input_size) -> InputMapping:
        """Darknet ``letterbox_image``: keep the aspect ratio, centre, pad the rest.

        The resized size and the padding use Darknet's integer arithmetic.
        """
        (fh, fw), (ih, iw) = _size(frame_size, "frame_size"), _size(input_size, "input_size")
        if iw / fw < ih / fh:
            new_w, new_h = iw, (fh * iw) // fw
        else:
            new_h, new_w = ih, (fw * ih) // fh
        new_w, new_h = max(new_w, 1), max(new_h, 1)
        return cls(
            (fh, fw), (ih, iw), (new_h / fh, new_w / fw), ((ih - new_h) // 2, (iw - new_w) // 2)
        )

    @classmethod
    def resize_crop(cls, frame_size, resize_size, crop_size) -> InputMapping:
        """torchvision presets: ``resize(resize_size)`` then ``center_crop(crop_size)``."""
        frame_size = _size(frame_size, "frame_size")
        rh, rw = torchvision_resized_size(frame_size, resize_size)
        ch, cw = _size(crop_size, "crop_size")
        offset = []
        for resized, crop in ((rh, ch), (rw, cw)):
            if crop > resized:  # torchvision pads first, then the crop starts at 0
                offset.append(float((crop - resized) // 2))
            else:
                offset.append(float(-int(round((resized - crop) / 2.0))))
        return cls(frame_size, (ch, cw), (rh / frame_size[0], rw / frame_size[1]), tuple(offset))

    @property
    def valid_region(self) -> tuple[float, float, float, float]:
        """``(x0, y0, x1, y1)`` in input pixels covered by the frame (padding excluded)."""
        (sy, sx), (ty, tx) = self.scale, self.offset
        ih, iw = self.input_size
        fh, fw = self.frame_size
        return (max(tx, 0.0), max(ty, 0.0), min(fw * sx + tx, iw), min(fh * sy + ty, ih))

    def _affine(self, boxes, inverse: bool):
        (sy, sx), (ty, tx) = self.scale, self.offset
        if boxes.shape[-1] < 4:
            raise ValueError(f"boxes must have shape (..., 4) or more columns; got {boxes.shape}")
        scale = [sx, sy, sx, sy]
        offset = [tx, ty, tx, ty]
        if isinstance(boxes, torch.Tensor):
            scale_t = boxes.new_tensor(scale)
            offset_t = boxes.new_tensor(offset)
            xyxy = boxes[..., :4]
            xyxy = (xyxy - offset_t) / scale_t if inverse else xyxy * scale_t + offset_t
            return torch.cat([xyxy, boxes[..., 4:]], dim=-1)
        boxes = np.asarray(boxes, dtype=np.float64)
        xyxy = boxes[..., :4]
        xyxy = (xyxy - offset) / np.array(scale) if inverse else xyxy * scale + np.array(offset)
        return np.concatenate([xyxy, boxes[..., 4:]], axis=-1)

    def boxes_to_frame(self, boxes, clip: bool = True):
        """Boxes ``(..., 4+)`` in input pixels (x0, y0, x1, y1, extra columns kept) → frame pixels.

        Args:
            boxes: Tensor or array whose first four columns are ``x0, y0, x1, y1``.
            clip: Clip the corners to the frame, as detectors report them.
        """
        out = self._affine(boxes, inverse=True)
        if clip:
            fh, fw = self.frame_size
            if isinstance(out, torch.Tensor):
                limits = out.new_tensor([fw, fh, fw, fh])
                out = torch.cat([out[..., :4].clamp(min=0).minimum(limits), out[..., 4:]], -1)
            else:
                out[..., :4] = np.clip(out[..., :4], 0, [fw, fh, fw, fh])
        return out

    def boxes_to_input(self, boxes):
        """Boxes ``(..., 4+)`` in frame pixels → input pixels (not clipped)."""
        return self._affine(boxes, inverse=False)

    def map_to_frame(self, maps: torch.Tensor, fill: float = 0.0) -> torch.Tensor:
        """Resample maps at input resolution onto the frame's pixel grid.

        Frame pixels that fall outside the input (cropped away by a centre crop) get ``fill``;
        padding in the input is never sampled.

        Args:
            maps: ``(H_in, W_in)``, ``(B, H_in, W_in)`` or ``(B, T, H_in, W_in)``; any float dtype.
            fill: Value for frame pixels the model never saw.

        Returns:
            Same leading shape with the last two dims ``(H_frame, W_frame)``, bilinear, on the
            device of ``maps``.
        """
        maps = torch.as_tensor(maps)
        if maps.ndim < 2 or tuple(maps.shape[-2:]) != tuple(self.input_size):
            raise ValueError(
                f"maps must end in the input size {tuple(self.input_size)}; got {tuple(maps.shape)}"
            )
        lead = maps.shape[:-2]
        flat = maps.reshape(1, -1, *self.input_size).float()
        (sy, sx), (ty, tx) = self.scale, self.offset
        (fh, fw), (ih, iw) = self.frame_size, self.input_size
        u = (torch.arange(fw, device=maps.device, dtype=torch.float32) + 0.5) * sx + tx
        v = (torch.arange(fh, device=maps.device, dtype=torch.float32) + 0.5) * sy + ty
        grid_v, grid_u = torch.meshgrid(v, u, indexing="ij")
        grid = torch.stack([2 * grid_u / iw - 1, 2 * grid_v / ih - 1], dim=-1)[None]
        out = F.grid_sample(flat, grid, mode="bilinear", padding_mode="border", align_corners=False)
        outside = (grid_u < 0) | (grid_u > iw) | (grid_v < 0) | (grid_v > ih)
        out = out.masked_fill(outside, fill)
        return out.reshape(*lead, fh, fw).to(maps.dtype if maps.is_floating_point() else out.dtype)
