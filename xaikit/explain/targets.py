"""What a map explains: a scalar score per sample, computed from the model's outputs.

Every target turns the model outputs into a ``(B,)`` tensor whose gradient the explainers
follow. :func:`resolve` accepts the short forms of :func:`xaikit.explain` (``None``, an int,
one int per sample, a callable) and the objects defined here.

Examples:
    >>> import torch
    >>> logits = torch.tensor([[1.0, 3.0, 2.0], [5.0, 0.0, 4.0]])
    >>> resolve(None, batch_size=2).score(logits).tolist()
    [3.0, 5.0]
    >>> resolve([2, 1], batch_size=2).score(logits).tolist()
    [2.0, 0.0]
    >>> TopK(2).score(logits).tolist()
    [2.0, 4.0]
    >>> Counterfactual().score(logits).tolist()
    [-3.0, -5.0]
"""

from __future__ import annotations

import copy
import numbers
import warnings
from collections.abc import Callable, Sequence

import numpy as np
import torch

__all__ = [
    "ClassTarget",
    "Counterfactual",
    "DetectionBox",
    "ScoreFunction",
    "Target",
    "TopK",
    "resolve",
]


class Target:
    """Base class: ``score(outputs) -> (B,)``; ``classes(outputs) -> (B,)`` or ``None``."""

    def sample_index(self, batch_size: int) -> torch.Tensor | None:
        """Input image of each explained sample, or ``None`` for one sample per image."""
        return None

    def bind(self, model) -> Target:
        """This target for ``model`` (a target that reads model-specific outputs, such as
        :class:`DetectionBox`, takes the model's own decoding here); default: itself."""
        return self

    def restrict(self, samples: torch.Tensor, classes: torch.Tensor | None) -> Target:
        """The target of the given samples only, for perturbed copies of them.

        Args:
            samples: ``(n,)`` sample index of each perturbed copy.
            classes: ``(B,)`` classes explained on the unperturbed input (``None`` when the
                target is not a class), so that a perturbation cannot change the class.

        Raises:
            ValueError: this target cannot score samples on their own.
        """
        raise ValueError(
            f"{type(self).__name__} cannot be restricted to samples: perturbation methods need "
            "a class target (None, ints, TopK, ClassTarget), its Counterfactual, or a callable "
            "that scores each row on its own"
        )

    def select(self, samples: torch.Tensor) -> Target:
        """The target of the rows ``samples`` of the batch it explains, for a pass that runs
        the batch in chunks (``batch_size``); unlike :meth:`restrict`, classes are not fixed.

        Raises:
            ValueError: this target cannot score a part of the batch on its own.
        """
        raise ValueError(
            f"{type(self).__name__} cannot score part of a batch; pass batch_size >= the "
            "number of samples so the batch runs in one pass"
        )

    def check_image(self, size: tuple[int, int]) -> None:
        """Raise ``ValueError`` when the target does not fit inputs of ``size`` ``(H, W)``."""

    def score(self, outputs) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def classes(self, outputs) -> torch.Tensor | None:
        """Class index explained per sample, when the target is a class; else ``None``."""
        return None

    def check(self, batch_size: int) -> None:
        """Raise ``ValueError`` when the target does not fit a batch of ``batch_size``."""

    def check_layers(self, layer_names: list[str]) -> None:
        """After :meth:`score`: raise (or warn) when a layer cannot affect the score of some
        sample, so that its map would be zero for want of a path, not of evidence."""


def _logits(outputs) -> torch.Tensor:
    if not isinstance(outputs, torch.Tensor) or outputs.ndim != 2:
        got = tuple(outputs.shape) if isinstance(outputs, torch.Tensor) else type(outputs).__name__
        raise ValueError(
            "a class target needs model outputs of shape (B, K); got "
            f"{got}. Pass a callable target (outputs -> Tensor[B]) for other outputs"
        )
    return outputs


def _is_int(value) -> bool:
    """An int-like scalar: ``int``, ``np.int64``... but not ``bool``."""
    return isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_))


def class_indices(classes) -> int | torch.Tensor | None:
    """Class targets as ``None``, one ``int`` or a 1-D long tensor with one class per sample.

    Accepts Python and numpy ints, 0-dim arrays and tensors (one class for all), and
    sequences, numpy arrays or 1-D tensors of ints (one per sample).

    Raises:
        ValueError: anything else (floats, booleans, empty or multi-dimensional arrays).

    Examples:
        >>> import numpy as np, torch
        >>> class_indices(np.int64(2)), class_indices(torch.tensor(3))
        (2, 3)
        >>> class_indices(np.array([1, 2])).tolist()
        [1, 2]
    """
    if classes is None:
        return None
    if _is_int(classes):
        return int(classes)
    expected = "None, an int or a non-empty 1-D sequence of ints"
    try:
        values = torch.as_tensor(np.asarray(classes) if not torch.is_tensor(classes) else classes)
    except (TypeError, ValueError, RuntimeError):
        raise ValueError(f"classes must be {expected}; got {classes!r}") from None
    integral = not values.dtype.is_floating_point and not values.dtype.is_complex
    if not integral or values.dtype == torch.bool or values.ndim > 1:
        raise ValueError(
            f"classes must be {expected}; got {classes!r} (dtype {values.dtype}, "
            f"shape {tuple(values.shape)})"
        )
    if values.ndim == 0:
        return int(values)
    if values.numel() == 0:
        raise ValueError(f"classes must be {expected}; got an empty {type(classes).__name__}")
    return values.long()


class ClassTarget(Target):
    """The score of a given class: one class for the whole batch or one per sample.

    Args:
        classes: ``None`` (the predicted class of each sample), an int (also a numpy int or
            a 0-dim array / tensor), or a sequence, numpy array or 1-D tensor with one int
            per sample (see :func:`class_indices`).
    """

    def __init__(self, classes: int | Sequence[int] | torch.Tensor | np.ndarray | None = None):
        self._classes = class_indices(classes)

    def check(self, batch_size: int) -> None:
        if isinstance(self._classes, torch.Tensor) and self._classes.numel() != batch_size:
            raise ValueError(
                f"got {self._classes.numel()} class targets for a batch of {batch_size}; "
                "give one per sample or a single int for all"
            )

    def classes(self, outputs) -> torch.Tensor:
        logits = _logits(outputs)
        if self._classes is None:
            return logits.detach().argmax(dim=1)
        if isinstance(self._classes, int):
            chosen = torch.full((logits.shape[0],), self._classes, device=logits.device)
        else:
            chosen = self._classes.to(logits.device)
        if (chosen < 0).any() or (chosen >= logits.shape[1]).any():
            raise ValueError(
                f"class targets must lie in [0, {logits.shape[1] - 1}]; got {chosen.tolist()}"
            )
        return chosen

    def score(self, outputs) -> torch.Tensor:
        logits = _logits(outputs)
        return logits.gather(1, self.classes(logits)[:, None]).squeeze(1)

    def restrict(self, samples: torch.Tensor, classes: torch.Tensor | None) -> ClassTarget:
        return ClassTarget(classes[samples.to(classes.device)])

    def select(self, samples: torch.Tensor) -> ClassTarget:
        if not isinstance(self._classes, torch.Tensor):
            return self  # one class, or each sample's own prediction: row by row
        return ClassTarget(self._classes[samples.to(self._classes.device)])


class TopK(ClassTarget):
    """The class ranked ``k``-th by the model (``TopK(1)`` is the predicted class).

    Args:
        k: rank, starting at 1.
    """

    def __init__(self, k: int = 1):
        if not isinstance(k, int) or k < 1:
            raise ValueError(f"k must be an int >= 1; got {k!r}")
        super().__init__(None)
        self.k = k

    def classes(self, outputs) -> torch.Tensor:
        logits = _logits(outputs)
        if self.k > logits.shape[1]:
            raise ValueError(f"k={self.k} but the model has only {logits.shape[1]} classes")
        return logits.detach().topk(self.k, dim=1).indices[:, -1]


class ScoreFunction(Target):
    """Wrap a callable ``outputs -> Tensor[B]``; the returned shape is checked."""

    def __init__(self, function: Callable):
        if not callable(function):
            raise ValueError(f"expected a callable outputs -> Tensor[B]; got {function!r}")
        self.function = function

    def score(self, outputs) -> torch.Tensor:
        scores = self.function(outputs)
        if not isinstance(scores, torch.Tensor) or scores.ndim != 1:
            got = tuple(scores.shape) if isinstance(scores, torch.Tensor) else type(scores)
            raise ValueError(f"a target callable must return a (B,) tensor; got {got}")
        return scores

    def restrict(self, samples: torch.Tensor, classes: torch.Tensor | None) -> ScoreFunction:
        return self  # documented: a callable must score each row on its own

    def select(self, samples: torch.Tensor) -> ScoreFunction:
        return self


class Counterfactual(Target):
    """The negated score of another target (default: the predicted class).

    Its gradients are the negated gradients of the base target, so a gradient method shows
    the regions that speak *against* the decision (the 3DCAM paper's Eq. 7).
    """

    def __init__(self, base=None):
        self.base = resolve(base)

    def check(self, batch_size: int) -> None:
        self.base.check(batch_size)

    def sample_index(self, batch_size: int) -> torch.Tensor | None:
        return self.base.sample_index(batch_size)

    def classes(self, outputs) -> torch.Tensor | None:
        return self.base.classes(outputs)

    def score(self, outputs) -> torch.Tensor:
        return -self.base.score(outputs)

    def bind(self, model) -> Counterfactual:
        return Counterfactual(self.base.bind(model))

    def restrict(self, samples: torch.Tensor, classes: torch.Tensor | None) -> Counterfactual:
        return Counterfactual(self.base.restrict(samples, classes))

    def select(self, samples: torch.Tensor) -> Counterfactual:
        return Counterfactual(self.base.select(samples))

    def check_image(self, size: tuple[int, int]) -> None:
        self.base.check_image(size)


def box_iou(boxes_a: torch.Tensor, boxes_b: torch.Tensor) -> torch.Tensor:
    """IoU of ``(N, 4)`` and ``(M, 4)`` continuous boxes ``(x0, y0, x1, y1)`` -> ``(N, M)``."""
    top_left = torch.maximum(boxes_a[:, None, :2], boxes_b[None, :, :2])
    bottom_right = torch.minimum(boxes_a[:, None, 2:], boxes_b[None, :, 2:])
    intersection = (bottom_right - top_left).clamp_min(0).prod(dim=2)
    area_a = (boxes_a[:, 2:] - boxes_a[:, :2]).clamp_min(0).prod(dim=1)
    area_b = (boxes_b[:, 2:] - boxes_b[:, :2]).clamp_min(0).prod(dim=1)
    union = area_a[:, None] + area_b[None, :] - intersection
    return intersection / union.clamp_min(torch.finfo(intersection.dtype).tiny)


def decode_yolo(outputs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Raw YOLO-style predictions ``(B, N, 5 + K)`` (cx, cy, w, h, objectness, K class
    scores) -> boxes ``(B, N, 4)`` as x0y0x1y1 and class scores ``(B, N, K)`` =
    objectness x class score."""
    if not isinstance(outputs, torch.Tensor) or outputs.ndim != 3 or outputs.shape[2] < 6:
        got = tuple(outputs.shape) if isinstance(outputs, torch.Tensor) else type(outputs)
        raise ValueError(
            "DetectionBox expects raw predictions of shape (B, N, 5 + K) "
            f"(cx, cy, w, h, objectness, class scores); got {got}. Pass decode= for other heads"
        )
    centre, size = outputs[..., :2], outputs[..., 2:4]
    boxes = torch.cat([centre - size / 2, centre + size / 2], dim=-1)
    return boxes, outputs[..., 4:5] * outputs[..., 5:]


def _check_boxes(boxes: torch.Tensor, image: torch.Tensor) -> None:
    """Refuse non-finite boxes and boxes without area (``x1 <= x0`` or ``y1 <= y0``)."""
    x0, y0, x1, y1 = boxes.unbind(dim=1)
    problems = [
        (~torch.isfinite(boxes).all(dim=1), "is not finite"),
        (x1 <= x0, "has x1 <= x0"),
        (y1 <= y0, "has y1 <= y0"),
    ]
    for bad, what in problems:
        if bad.any():
            row = int(bad.nonzero()[0])
            raise ValueError(
                f"DetectionBox: box {row} (image {int(image[row])}) {boxes[row].tolist()} "
                f"{what}; expected finite (x0, y0, x1, y1) with x1 > x0 and y1 > y0 "
                f"({int(bad.sum())} such box(es))"
            )


class DetectionBox(Target):
    """The score of the raw prediction that best matches each given box.

    Each box becomes its own sample: the engine repeats the image once per box, so every
    detection gets its own map from one batched forward and backward.

    Args:
        boxes: ``(M, 4)`` continuous boxes ``(x0, y0, x1, y1)`` in input pixels, or a list with one
            ``(M_i, 4)`` tensor per image.
        labels: class of each box (same layout as ``boxes``); ``None`` matches on IoU and
            takes the best class of the matched prediction.
        decode: ``outputs -> (boxes (B, N, 4) x0y0x1y1, class scores (B, N, K))``;
            ``None`` takes the model's own (``model.box_scores``, which
            :class:`~xaikit.models.Darknet` has) when the engine binds the target to the
            model, else :func:`decode_yolo` (raw ``(B, N, 5 + K)`` predictions).

        blind: what a layer that does not feed a detection's head does (a multi-head
            detector's layer past the split: its map would be zero for want of a path):
            ``"error"`` (``ValueError``) or ``"warn"`` (a warning naming the layer, the head
            and the detections; their maps at that layer stay zero).

    Boxes must be finite with ``x1 > x0`` and ``y1 > y0`` (checked here) and overlap the
    input image (checked by :func:`resolve` when the engine gives it the input size).
    ``(M, 6)`` rows ``x0, y0, x1, y1, score, class`` (what ``model.detect()`` returns, in
    input pixels) give both the boxes and the labels: see :meth:`from_detections`.

    Matching: among the image's raw predictions, the one with the highest IoU with the box
    (ties: the higher score of the box's label) is chosen without gradient; its class score
    (objectness x class probability for YOLO) is the differentiable target.
    """

    def __init__(self, boxes, labels=None, decode: Callable | None = None, blind: str = "error"):
        per_image = boxes if isinstance(boxes, (list, tuple)) else [boxes]
        tensors = [torch.tensor(np.asarray(b), dtype=torch.float32) for b in per_image]
        if any(t.ndim == 2 and t.shape[1] == 6 for t in tensors) and labels is None:
            labels = [t[:, 5].round().long() for t in tensors]
            tensors = [t[:, :4] for t in tensors]
        for t in tensors:
            if (t.numel() and t.shape[-1] != 4) or t.ndim > 2:
                raise ValueError(
                    f"DetectionBox boxes must be (M, 4) x0, y0, x1, y1 (or (M, 6) detect() "
                    f"rows); got shape {tuple(t.shape)}"
                )
        if blind not in ("error", "warn"):
            raise ValueError(f"blind must be 'error' or 'warn'; got {blind!r}")
        self.blind = blind
        self._graph = None
        self._heads = None
        tensors = [t.reshape(-1, 4) for t in tensors]
        if sum(len(t) for t in tensors) == 0:
            raise ValueError("DetectionBox needs at least one box of shape (4,)")
        self.boxes = torch.cat(tensors)
        self._image = torch.cat([torch.full((len(t),), i) for i, t in enumerate(tensors)])
        _check_boxes(self.boxes, self._image)
        self.n_images = len(tensors)
        if labels is None:
            self.labels = None
        else:
            label_list = labels if isinstance(labels, (list, tuple)) else [labels]
            flat = torch.cat(
                [torch.as_tensor(np.array(lab)).reshape(-1).long() for lab in label_list]
            )
            if flat.numel() != self.boxes.shape[0]:
                raise ValueError(f"got {flat.numel()} labels for {self.boxes.shape[0]} boxes")
            if (flat < 0).any():
                raise ValueError(f"DetectionBox labels must be class indices >= 0; got {flat}")
            self.labels = flat
        self.decode = decode

    @classmethod
    def from_detections(cls, detections, **options) -> DetectionBox:
        """The target of detections ``(M, 6)`` ``x0, y0, x1, y1, score, class`` in input
        pixels (one tensor per image, or one for a single image), as ``model.detect(x)``
        returns them.

        Examples:
            >>> rows = torch.tensor([[10.0, 20, 50, 60, 0.9, 2], [0, 0, 8, 8, 0.5, 0]])
            >>> target = DetectionBox.from_detections(rows)
            >>> target.boxes.tolist()[1], target.labels.tolist()
            ([0.0, 0.0, 8.0, 8.0], [2, 0])
        """
        per_image = detections if isinstance(detections, (list, tuple)) else [detections]
        tensors = [torch.as_tensor(d, dtype=torch.float32) for d in per_image]
        for d in tensors:
            if d.ndim != 2 or d.shape[1] != 6:
                raise ValueError(
                    f"detections must be (M, 6) x0, y0, x1, y1, score, class; got {tuple(d.shape)}"
                )
        return cls(tensors, **options)

    def bind(self, model) -> DetectionBox:
        bound = copy.copy(self)
        if all(callable(getattr(model, n, None)) for n in ("heads_seen_by", "head_of_prediction")):
            bound._graph = model
        if self.decode is None:
            bound.decode = getattr(model, "box_scores", None) or decode_yolo
        return bound

    def check_layers(self, layer_names: list[str]) -> None:
        if self._graph is None or self._heads is None:
            return
        for name in layer_names:
            seen = self._graph.heads_seen_by(name)
            if seen is None:
                continue
            blind = [i for i, head in enumerate(self._heads.tolist()) if head not in seen]
            if not blind:
                continue
            heads = sorted({int(self._heads[i]) for i in blind})
            strides = [self._graph.heads[h].stride for h in heads]
            found = f"the detection(s) {blind} (in sample order)"
            message = (
                f"layer {name} does not feed head(s) {heads} (stride {strides}) of "
                f"{type(self._graph).__name__}, which found {{}}: their maps at {name} would be "
                f"zero for want of a path. Use a layer that feeds every head, e.g. "
                f"{self._graph.default_explain_layer}"
            )
            if self.blind == "error":
                raise ValueError(message.format(found))
            # Without the detections' numbers, one warning stands for every chunk of a video.
            warnings.warn(
                message.format("some detections") + "; their maps there are left at zero",
                stacklevel=6,
            )

    def check(self, batch_size: int) -> None:
        if batch_size != self.n_images:
            raise ValueError(
                f"DetectionBox has boxes for {self.n_images} image(s) but the batch has "
                f"{batch_size}; pass one (M_i, 4) tensor per image"
            )

    def check_image(self, size: tuple[int, int]) -> None:
        height, width = size[-2:]
        x0, y0, x1, y1 = self.boxes.unbind(dim=1)
        outside = (x1 <= 0) | (y1 <= 0) | (x0 >= width) | (y0 >= height)
        if outside.any():
            row = int(outside.nonzero()[0])
            raise ValueError(
                f"DetectionBox: box {row} (image {int(self._image[row])}) "
                f"{self.boxes[row].tolist()} lies outside the {height}x{width} input "
                f"(x in [0, {width}), y in [0, {height})); boxes are in input pixels, after "
                "preprocessing"
            )

    def sample_index(self, batch_size: int) -> torch.Tensor:
        return self._image.clone()

    def select(self, samples: torch.Tensor) -> DetectionBox:
        chosen = copy.copy(self)
        samples = samples.cpu()
        chosen.boxes, chosen._image = self.boxes[samples], self._image[samples]
        chosen.labels = None if self.labels is None else self.labels[samples]
        return chosen

    def score(self, outputs) -> torch.Tensor:
        boxes, scores = (self.decode or decode_yolo)(outputs)
        if boxes.shape[0] != self.boxes.shape[0]:
            raise ValueError(
                f"expected outputs for {self.boxes.shape[0]} box samples; got {boxes.shape[0]}"
            )
        if self.labels is not None and (self.labels >= scores.shape[-1]).any():
            raise ValueError(
                f"DetectionBox labels must lie in [0, {scores.shape[-1] - 1}] (the model's "
                f"classes); got {self.labels.tolist()}"
            )
        wanted = self.boxes.to(boxes.device)
        picked = []
        with torch.no_grad():
            for row in range(boxes.shape[0]):
                iou = box_iou(wanted[row : row + 1], boxes[row].detach().float())[0]
                if self.labels is None:
                    class_scores = scores[row].detach().amax(dim=1)
                else:
                    class_scores = scores[row, :, self.labels[row]].detach()
                best = torch.argmax(iou * 1e6 + class_scores)
                label = (
                    scores[row, best].detach().argmax()
                    if self.labels is None
                    else self.labels[row].to(boxes.device)
                )
                picked.append((best, label))
        if self._graph is not None:
            rows = torch.stack([best for best, _ in picked])
            self._heads = self._graph.head_of_prediction(outputs, rows).cpu()
        return torch.stack([scores[row, best, label] for row, (best, label) in enumerate(picked)])


def _are_detections(target) -> bool:
    """Whether ``target`` is ``(M, 6)`` detection rows, or a list of them (one per image)."""
    items = target if isinstance(target, (list, tuple)) else [target]
    return bool(items) and all(
        isinstance(t, (torch.Tensor, np.ndarray)) and t.ndim == 2 and t.shape[1] == 6 for t in items
    )


def resolve(
    target, batch_size: int | None = None, model=None, image_size: tuple[int, int] | None = None
) -> Target:
    """Turn any accepted target form into a :class:`Target` and check it fits the batch.

    Args:
        target: ``None`` (predicted class), an int (one class for all; numpy ints and 0-dim
            arrays or tensors too), a sequence, numpy array or 1-D tensor of ints (one per
            sample), detections ``(M, 6)`` (``detect()`` rows, one array per image:
            :meth:`DetectionBox.from_detections`), a callable ``outputs -> Tensor[B]``, or a
            :class:`Target`.
        batch_size: when given, the target is checked against it: one per sample or
            broadcast, never silently truncated.
        model: when given, the target is bound to it (:meth:`Target.bind`).
        image_size: the input's ``(H, W)``; when given, the target is checked against it
            (:meth:`Target.check_image`: a detection box must overlap the image).

    Raises:
        ValueError: a target of the wrong length or kind.
    """
    if isinstance(target, Target):
        resolved = target
    elif target is None or _is_int(target):
        resolved = ClassTarget(target)
    elif _are_detections(target):
        resolved = DetectionBox.from_detections(target)
    elif isinstance(target, (list, tuple, torch.Tensor, np.ndarray)):
        resolved = ClassTarget(target)
    elif callable(target):
        resolved = ScoreFunction(target)
    else:
        raise ValueError(
            "target must be None, an int, one int per sample, a callable outputs -> Tensor[B] "
            f"or an xaikit.explain.targets object; got {target!r}"
        )
    if batch_size is not None:
        resolved.check(batch_size)
    if image_size is not None:
        resolved.check_image(tuple(image_size))
    return resolved if model is None else resolved.bind(model)
