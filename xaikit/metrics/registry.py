"""The metric registry: every score of a saliency map against a reference, declared next to its
function with :func:`metric`.

Each entry says what the function reads (:data:`READS`), whether higher is better and, where
the metric has any, its default thresholds (IoU thresholds, energy fractions). Study tables
(:mod:`xaikit.study`) and the widgets iterate the registry instead of keeping lists of their
own, so a metric registered here shows up everywhere.

Entries are in family order (saliency, then localization), each family in source order:

>>> from xaikit.metrics.registry import METRICS
>>> METRICS["KLD"].reads, METRICS["KLD"].higher_is_better
(('density',), False)
>>> METRICS["energy IoU"].labels([0.9, 0.8])
['energy IoU @0.9', 'energy IoU @0.8']
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

#: What a metric can read besides the maps, with the layout it takes.
READS = {
    "density": "the human fixation map, (H, W) or (B, H, W) in [0, 1]",
    "fixations": "the fixation mask, (H, W) or (B, H, W), > 0 = fixated",
    "other_fixations": "the other images' fixations, (H, W) or (B, H, W), > 0 = fixated",
    "boxes": "object boxes, one (K, 4) array x0, y0, x1, y1 per map (clips: per clip, then "
    "per frame)",
    "correct": "one boolean per map: the class prediction is right",
    "masks": "object masks shaped like the maps, (H, W), (B, H, W) or clips "
    "(B, T, H, W), > 0 = object",
}
#: The metric families that register entries, in table order (reading :data:`METRICS` imports
#: them, so a family that registers metrics belongs here).
SCORED_FAMILIES = ("saliency", "localization")


@dataclass(frozen=True)
class Metric:
    """One registered metric.

    Attributes:
        name: display name, the ``metric`` column of study tables (``"AUC-Judd"``).
        function: the metric function; it takes the maps, then one argument per entry of
            ``reads`` in that order.
        reads: the references it reads, keys of :data:`READS`.
        higher_is_better: whether a higher value is better.
        thresholds: default thresholds, one value per threshold (empty: the metric has none).
        threshold_keyword: the keyword that passes a list of thresholds to ``function``.
        per_map: ``function`` returns one value per map (``(N,)`` or ``(N, thresholds)``) and
            a set scores the mean over the maps with a finite value; otherwise ``function``
            scores the whole set itself (a float, or one value per threshold).
        averages_maps: for a set-wide ``function`` (``per_map`` False), its score is a mean
            over the maps of a per-map value (hit point, Acc2), so one sample scored alone
            gives that sample's value; False for set-level rules (MaxBoxAcc's one threshold
            for the set, PxAP's pooled pixels), which have no per-sample value.
    """

    name: str
    function: Callable
    reads: tuple[str, ...]
    higher_is_better: bool
    thresholds: tuple[float, ...] = ()
    threshold_keyword: str | None = None
    per_map: bool = False
    averages_maps: bool = False
    _options: frozenset = field(default=frozenset(), repr=False, compare=False)

    @property
    def family(self) -> str:
        """The module of ``function`` (``"saliency"``, ``"localization"``)."""
        return self.function.__module__.rsplit(".", 1)[-1]

    def labels(self, thresholds: Sequence[float] | None = None) -> list[str]:
        """Column names of the scores: ``name`` alone, or ``"name @threshold"`` per threshold.

        Examples:
            >>> from xaikit.metrics.registry import METRICS
            >>> METRICS["hit point"].labels(), METRICS["overlap"].labels()
            (['hit point'], ['overlap @0', 'overlap @0.5', 'overlap @0.6'])
        """
        values = self.resolve_thresholds(thresholds)
        return [label(self.name, value) for value in values] if values else [self.name]

    def score(self, saliency, references: Mapping, thresholds=None, **options) -> np.ndarray:
        """Score a set of maps against its references.

        Args:
            saliency: the maps, in the layout ``function`` takes.
            references: ``{kind: reference}`` holding at least every kind of ``reads``.
            thresholds: the thresholds to score at (default: :attr:`thresholds`).
            **options: keyword options; those ``function`` does not take are not passed to
                it, so one set of options can serve several metrics (``cam_thresholds``,
                ``box_convention``, ...).

        Returns:
            ``(T,)`` float64 values, one per threshold (one value for a metric without
            thresholds); NaN where no map has a finite score.

        Examples:
            >>> import numpy as np
            >>> from xaikit.metrics.registry import METRICS
            >>> maps = np.array([[[1.0, 0.0], [0.0, 0.0]], [[0.0, 0.0], [0.0, 0.0]]])
            >>> METRICS["NSS"].score(maps, {"fixations": maps[:1] > 0})  # the flat map: NaN
            array([1.5])
        """
        result = self.values(saliency, references, thresholds, **options)
        if not self.per_map:
            return result[0]
        return np.array([_finite_mean(column) for column in result.T])

    def values(self, saliency, references: Mapping, thresholds=None, **options) -> np.ndarray:
        """What ``function`` returns, as float64 ``(rows, T)``: one row per map for a
        ``per_map`` metric, else one row (the set's score); arguments as :meth:`score`.

        Examples:
            >>> import numpy as np
            >>> from xaikit.metrics.registry import METRICS
            >>> maps = np.array([[[1.0, 0.0], [0.0, 0.0]], [[0.0, 0.0], [0.0, 0.0]]])
            >>> METRICS["NSS"].values(maps, {"fixations": maps[:1] > 0})
            array([[1.5],
                   [nan]])
        """
        missing = [kind for kind in self.reads if kind not in references]
        if missing:
            raise ValueError(f"{self.name} needs {_describe(missing)}; got {sorted(references)}")
        values = self.resolve_thresholds(thresholds)
        keywords = {key: value for key, value in options.items() if key in self._options}
        if values:
            keywords[self.threshold_keyword] = list(values)
        result = self.function(saliency, *(references[kind] for kind in self.reads), **keywords)
        result = np.asarray(result, dtype=np.float64)
        return result.reshape(-1 if self.per_map else 1, max(len(values), 1))

    def resolve_thresholds(self, thresholds=None) -> tuple[float, ...]:
        """``thresholds`` checked for this metric as a tuple of floats; ``None`` gives the
        defaults (:attr:`thresholds`)."""
        if thresholds is None:
            return self.thresholds
        if not self.thresholds:
            raise ValueError(f"{self.name} has no thresholds; got {list(thresholds)}")
        values = tuple(float(value) for value in thresholds)
        if not values:
            raise ValueError(f"{self.name} needs at least one threshold; got none")
        return values


def label(name: str, threshold: float | None = None) -> str:
    """The column name of metric ``name`` at ``threshold`` (``None``: no threshold).

    Examples:
        >>> label("MaxBoxAcc", 0.5), label("CC")
        ('MaxBoxAcc @0.5', 'CC')
    """
    return name if threshold is None else f"{name} @{threshold:g}"


def _finite_mean(values: np.ndarray) -> float:
    finite = values[np.isfinite(values)]
    return float(finite.mean()) if finite.size else np.nan


def _describe(kinds: Iterable[str]) -> str:
    return ", ".join(f"{kind} ({READS[kind]})" for kind in kinds)


class _Registry(Mapping):
    """``{name: Metric}`` of every registered metric; reading it imports the families first."""

    def __init__(self):
        self._entries: dict[str, Metric] = {}

    def add(self, entry: Metric) -> None:
        if entry.name in self._entries:
            raise ValueError(f"metric {entry.name!r} is already registered")
        unknown = [kind for kind in entry.reads if kind not in READS]
        if unknown:
            raise ValueError(f"{entry.name} reads unknown reference(s) {unknown}; valid: {READS}")
        self._entries[entry.name] = entry

    def _loaded(self) -> dict[str, Metric]:
        for family in SCORED_FAMILIES:
            importlib.import_module(f"xaikit.metrics.{family}")
        order = {family: index for index, family in enumerate(SCORED_FAMILIES)}
        rank = len(order)  # a metric registered elsewhere goes last
        entries = sorted(self._entries.values(), key=lambda e: order.get(e.family, rank))
        return {entry.name: entry for entry in entries}

    def __getitem__(self, name: str) -> Metric:
        entries = self._loaded()
        if name not in entries:
            raise KeyError(f"unknown metric {name!r}; valid: {list(entries)}")
        return entries[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._loaded())

    def __len__(self) -> int:
        return len(self._loaded())

    def __repr__(self) -> str:
        return f"METRICS({list(self)})"


#: Every registered metric, ``{name: Metric}``, saliency first, each family in source order.
METRICS = _Registry()


def metric(
    name: str,
    *,
    reads: Sequence[str],
    higher_is_better: bool,
    thresholds: Sequence[float] = (),
    threshold_keyword: str | None = None,
    per_map: bool = False,
    averages_maps: bool = False,
) -> Callable:
    """Decorator registering the function below it as metric ``name`` (see :class:`Metric`).

    Stack it to register one function under several names (``"overlap"`` and ``"Acc2"``).
    """
    if bool(thresholds) != bool(threshold_keyword):
        raise ValueError(f"{name}: give thresholds and threshold_keyword together")
    if per_map and averages_maps:
        raise ValueError(f"{name}: averages_maps is for set-wide functions (per_map False)")

    def decorator(function: Callable) -> Callable:
        options = frozenset(
            parameter.name
            for parameter in inspect.signature(function).parameters.values()
            if parameter.kind is inspect.Parameter.KEYWORD_ONLY
        )
        METRICS.add(
            Metric(
                name=name,
                function=function,
                reads=tuple(reads),
                higher_is_better=higher_is_better,
                thresholds=tuple(float(value) for value in thresholds),
                threshold_keyword=threshold_keyword,
                per_map=per_map,
                averages_maps=averages_maps,
                _options=options - {threshold_keyword},
            )
        )
        return function

    return decorator


def select(names: Sequence[str] | None, given: Collection[str]) -> list[Metric]:
    """The metrics to score with the references ``given`` (kinds of :data:`READS`).

    Args:
        names: metric names, in the order wanted; ``None`` takes every registered metric that
            reads only what is given.
        given: the kinds of reference at hand.

    Raises:
        ValueError: an unknown name, a metric that needs a reference not given, or nothing
            to score.

    Examples:
        >>> [entry.name for entry in select(None, {"boxes"})][:2]
        ['hit point', 'peak in box']
        >>> select(["Acc2"], {"boxes"})  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        ValueError: Acc2 needs correct (one boolean per map: ...); given: ['boxes']
    """
    given = set(given)
    if names is None:
        chosen = [entry for entry in METRICS.values() if set(entry.reads) <= given]
        if not chosen:
            raise ValueError(f"no registered metric reads only {sorted(given)}")
        return chosen
    names = list(names)
    unknown = [name for name in names if name not in METRICS]
    if unknown or not names:
        raise ValueError(f"unknown metric(s) {unknown or names}; choose from {list(METRICS)}")
    chosen = [METRICS[name] for name in dict.fromkeys(names)]
    for entry in chosen:
        missing = [kind for kind in entry.reads if kind not in given]
        if missing:
            raise ValueError(f"{entry.name} needs {_describe(missing)}; given: {sorted(given)}")
    return chosen


def higher_is_better(name_or_label: str) -> bool:
    """Whether a higher value is better, for a metric name or a column :func:`label`.

    Examples:
        >>> higher_is_better("MAE"), higher_is_better("MaxBoxAcc @0.5")
        (False, True)
    """
    name = name_or_label.rsplit(" @", 1)[0] if name_or_label not in METRICS else name_or_label
    if name not in METRICS:
        raise ValueError(f"unknown metric {name_or_label!r}; choose from {list(METRICS)}")
    return METRICS[name].higher_is_better


def evaluate(
    saliency,
    references: Mapping,
    names: Sequence[str] | None = None,
    *,
    thresholds: Mapping[str, Sequence[float]] | None = None,
    **options,
) -> list[tuple[str, float | None, float]]:
    """Score a set of maps with several registered metrics: the one loop of study tables and
    widgets.

    Args:
        saliency: the maps, ``(H, W)``, ``(B, H, W)`` or clips ``(B, T, H, W)``.
        references: ``{kind: reference}`` (kinds of :data:`READS`).
        names: metric names (see :func:`select`; ``None``: all that ``references`` allow).
        thresholds: ``{metric name: thresholds}`` replacing a metric's default thresholds.
        **options: passed to every metric whose function takes them (see
            :meth:`Metric.score`).

    Returns:
        ``[(name, threshold, value), ...]`` in metric then threshold order; ``threshold`` is
        ``None`` for a metric without thresholds.

    Raises:
        ValueError: as :func:`select`, or thresholds for an unknown metric.

    Examples:
        >>> import numpy as np
        >>> heat = np.zeros((6, 6)); heat[1:3, 1:3] = 1.0
        >>> rows = evaluate(heat, {"boxes": [[[1, 1, 3, 3]]]}, ["hit point", "energy IoU"],
        ...                 thresholds={"energy IoU": [0.9]})
        >>> rows
        [('hit point', None, 1.0), ('energy IoU', 0.9, 1.0)]
    """
    thresholds = dict(thresholds or {})
    unknown = [name for name in thresholds if name not in METRICS]
    if unknown:
        raise ValueError(f"thresholds for unknown metric(s) {unknown}; choose from {list(METRICS)}")
    rows = []
    for entry in select(names, references):
        chosen = entry.resolve_thresholds(thresholds.get(entry.name))
        values = entry.score(saliency, references, chosen or None, **options)
        for threshold, value in zip(chosen or (None,), values, strict=True):
            rows.append((entry.name, threshold, float(value)))
    return rows
