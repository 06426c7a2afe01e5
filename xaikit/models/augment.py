"""Box-aware augmentation of detector training batches, for top-view footage of animals.

A camera above an arena sees an animal at any heading, anywhere, under changing light: so the
geometric part draws, per image, horizontal and vertical flips, a rotation by a multiple of 90
degrees, a zoom and a shift, applied as one affine warp (``grid_sample``) with the boxes
mapped through the same matrix; the photometric part draws brightness, contrast, gamma,
per-channel gains, greyscale, blur and noise. All draws come from one CPU ``torch.Generator``,
so a batch is reproducible from the seed; the pixel work runs where the batch is (CPU or CUDA).

Coordinates: boxes are ``x0, y0, x1, y1`` in the batch's continuous pixels (see
:mod:`xaikit.data.annotations`). A box mapped by a flip or a quarter turn is exact; under a
zoom and shift it stays axis-aligned. A box cut by the frame's edge keeps its visible part
when at least :attr:`Augmentation.min_visible` of its area stays; a box cut more is marked
difficult (it trains no prediction and shields the ones on it, see
:func:`~xaikit.models.zoo.detector.yolo_loss`); a box pushed out entirely is dropped.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torchvision.ops import box_area, clip_boxes_to_image


@dataclass(frozen=True)
class Augmentation:
    """How strongly each augmentation is drawn (probabilities and ranges).

    Attributes:
        flip: Probability of each of the horizontal and the vertical flip.
        rotate90: Probability of a quarter turn (then +90 or -90 degrees, equally likely). On a
            non-square input a quarter turn also stretches the image to the input's aspect, as
            a video of another shape would be stretched.
        zoom: Largest zoom factor; each image is scaled by a log-uniform factor in
            ``[1 / zoom, zoom]``.
        shift: Largest shift, as a share of the image's width and height.
        brightness: Largest added brightness (on the 0..1 scale).
        contrast: Contrast factor range ``[1 / contrast, contrast]`` about the image mean.
        gamma: Gamma range ``[1 / gamma, gamma]``.
        colour: Largest relative change of each channel's gain.
        greyscale: Probability of turning an image grey.
        blur: Probability of a Gaussian blur (sigma drawn in ``[0.5, 1.5]`` pixels).
        noise: Largest standard deviation of added Gaussian noise (0..1 scale).
        min_visible: Share of a box's area that must stay in the frame to keep training it.
        fill: Grey level (0..1) of the area a zoom-out or a shift uncovers.

    Examples:
        >>> Augmentation().zoom, Augmentation(flip=0.0).flip
        (1.3, 0.0)
    """

    flip: float = 0.5
    rotate90: float = 0.5
    zoom: float = 1.3
    shift: float = 0.15
    brightness: float = 0.15
    contrast: float = 1.4
    gamma: float = 1.5
    colour: float = 0.1
    greyscale: float = 0.2
    blur: float = 0.25
    noise: float = 0.03
    min_visible: float = 0.4
    fill: float = 0.45


def augment(
    images: torch.Tensor,
    boxes: list[torch.Tensor],
    generator: torch.Generator,
    settings: Augmentation = Augmentation(),
) -> tuple[torch.Tensor, list[torch.Tensor], list[torch.Tensor]]:
    """Augment a batch and its boxes.

    Args:
        images: ``(B, 3, H, W)`` float images in [0, 1] (any device).
        boxes: Per image an ``(M, 4 + k)`` float tensor ``x0, y0, x1, y1`` in pixels of
            ``images``, then any ``k`` columns carried along unchanged (a class id).
        generator: CPU generator every random draw comes from.
        settings: The strengths (:class:`Augmentation`).

    Returns:
        ``(images, boxes, difficult)``: the augmented ``(B, 3, H, W)`` batch in [0, 1], the
        boxes that remain (on ``images``' device) and per image an ``(M',)`` bool tensor
        marking the boxes cut so far by the frame's edge that they only shield predictions.

    Examples:
        >>> x = torch.zeros(1, 3, 8, 8); x[0, :, 0:2, 0:4] = 1.0  # a bright box top-left
        >>> flip = Augmentation(flip=1.0, rotate90=0.0, zoom=1.0, shift=0.0, contrast=1.0,
        ...                     gamma=1.0, brightness=0.0, colour=0.0, greyscale=0.0,
        ...                     blur=0.0, noise=0.0)
        >>> y, b, _ = augment(x, [torch.tensor([[0.0, 0.0, 4.0, 2.0]])], torch.Generator(), flip)
        >>> b[0].tolist(), bool(y[0, 0, 7, 7] == 1.0)  # flipped left-right and upside down
        ([[4.0, 6.0, 8.0, 8.0]], True)
    """
    count, _, height, width = images.shape
    forward = _draw_affine(count, settings, generator)  # output <- input, normalised coords
    if not torch.equal(forward, torch.eye(3).expand(count, 3, 3)):
        images = _warp(images, forward, settings.fill)
    images = _photometric(images, settings, generator)
    kept, difficult = [], []
    for matrix, image_boxes in zip(forward, boxes, strict=True):
        mapped, hard = _map_boxes(image_boxes.cpu(), matrix, (height, width), settings)
        kept.append(mapped.to(images.device))
        difficult.append(hard.to(images.device))
    return images, kept, difficult


def _draw_affine(count: int, settings: Augmentation, generator: torch.Generator) -> torch.Tensor:
    """Per image a 3x3 matrix taking input to output normalised coordinates (-1..1)."""
    uniform = torch.rand(count, 8, generator=generator)
    matrices = []
    for u in uniform.tolist():
        flip = torch.diag(
            torch.tensor([-1.0 if u[0] < settings.flip else 1.0,
                          -1.0 if u[1] < settings.flip else 1.0, 1.0])
        )  # fmt: skip
        turn = torch.eye(3)
        if u[2] < settings.rotate90:
            sign = 1.0 if u[3] < 0.5 else -1.0
            turn = torch.tensor([[0.0, -sign, 0.0], [sign, 0.0, 0.0], [0.0, 0.0, 1.0]])
        scale = math.exp((2 * u[4] - 1) * math.log(settings.zoom))
        shift_x = (2 * u[5] - 1) * 2 * settings.shift
        shift_y = (2 * u[6] - 1) * 2 * settings.shift
        move = torch.tensor([[scale, 0.0, shift_x], [0.0, scale, shift_y], [0.0, 0.0, 1.0]])
        matrices.append(move @ turn @ flip)
    return torch.stack(matrices)


def _warp(images: torch.Tensor, forward: torch.Tensor, fill: float) -> torch.Tensor:
    """Resample each image so that input point p lands at ``forward @ p`` (bilinear)."""
    inverse = torch.linalg.inv(forward)[:, :2, :].to(images.device, images.dtype)
    grid = F.affine_grid(inverse, list(images.shape), align_corners=False)
    # Sample (image - fill) with zero padding: the uncovered area comes out at ``fill``.
    warped = F.grid_sample(images - fill, grid, mode="bilinear", align_corners=False)
    return (warped + fill).clamp(0.0, 1.0)


def _map_boxes(boxes: torch.Tensor, forward: torch.Tensor, shape, settings: Augmentation):
    """Boxes through ``forward``: the extent of their mapped corners, cut to the frame."""
    height, width = shape
    if not len(boxes):
        return boxes, torch.zeros(0, dtype=torch.bool)
    size = torch.tensor([width, height], dtype=boxes.dtype)
    corners = boxes[:, [0, 1, 2, 1, 2, 3, 0, 3]].reshape(-1, 4, 2)
    normalised = corners / size * 2 - 1
    mapped = normalised @ forward[:2, :2].T + forward[:2, 2]
    pixels = (mapped + 1) / 2 * size
    full = torch.cat([pixels.amin(1), pixels.amax(1)], dim=1)
    cut = clip_boxes_to_image(full, (height, width))
    visible = box_area(cut) / box_area(full).clamp(min=1e-9)
    present = (cut[:, 2] - cut[:, 0] >= 1) & (cut[:, 3] - cut[:, 1] >= 1)
    mapped = torch.cat([cut, boxes[:, 4:]], dim=1)
    return mapped[present], (visible < settings.min_visible)[present]


def _photometric(images: torch.Tensor, settings: Augmentation, generator) -> torch.Tensor:
    count = len(images)
    u = torch.rand(count, 9, generator=generator).to(images.device)
    gains = 1 + (2 * torch.rand(count, 3, generator=generator) - 1) * settings.colour
    noise_seed = int(torch.randint(0, 2**31 - 1, (1,), generator=generator))

    def spread(column, factor):  # log-uniform in [1 / factor, factor]
        return torch.exp((2 * u[:, column] - 1) * math.log(factor)).view(-1, 1, 1, 1)

    mean = images.mean(dim=(1, 2, 3), keepdim=True)
    images = (images - mean) * spread(0, settings.contrast) + mean
    images = images + ((2 * u[:, 1] - 1) * settings.brightness).view(-1, 1, 1, 1)
    images = images * gains.to(images.device).view(count, 3, 1, 1)
    images = images.clamp(0.0, 1.0) ** spread(2, settings.gamma)
    if settings.noise > 0:
        noise_generator = torch.Generator(images.device).manual_seed(noise_seed)
        noise = torch.randn(images.shape, generator=noise_generator, device=images.device)
        images = images + noise * (u[:, 6] * settings.noise).view(-1, 1, 1, 1)
    grey = (u[:, 3] < settings.greyscale).view(-1, 1, 1, 1)
    luma = images * torch.tensor([0.299, 0.587, 0.114], device=images.device).view(1, 3, 1, 1)
    images = torch.where(grey, luma.sum(1, keepdim=True).expand_as(images), images)
    blurred = u[:, 4] < settings.blur
    if blurred.any():
        sigma = 0.5 + u[blurred, 5]
        images = images.clone()
        images[blurred] = _gaussian_blur(images[blurred], sigma)
    return images.clamp(0.0, 1.0)


def _gaussian_blur(images: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    """Blur each image with its own sigma (separable 7-tap kernel, reflected edges)."""
    taps = torch.arange(-3, 4, device=images.device, dtype=images.dtype)
    kernel = torch.exp(-(taps**2) / (2 * sigma.view(-1, 1) ** 2))
    kernel = kernel / kernel.sum(1, keepdim=True)  # (n, 7)
    count, channels, height, width = images.shape
    flat = images.reshape(1, count * channels, height, width)
    weights = kernel.repeat_interleave(channels, 0)
    flat = F.pad(flat, (3, 3, 3, 3), mode="reflect")
    flat = F.conv2d(flat, weights.view(-1, 1, 1, 7), groups=count * channels)
    flat = F.conv2d(flat, weights.view(-1, 1, 7, 1), groups=count * channels)
    return flat.view(count, channels, height, width)
