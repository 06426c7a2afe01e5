"""The metric registry: one entry per metric, declared next to its function, read by every
study table and widget."""

import numpy as np
import pytest

import xaikit as xk
from xaikit.metrics import localization as loc
from xaikit.metrics import registry
from xaikit.metrics import saliency as sal
from xaikit.metrics.registry import METRICS


def test_entries_name_their_module_function_and_known_references():
    assert list(METRICS) == list(dict.fromkeys(METRICS))
    families = [entry.family for entry in METRICS.values()]
    assert families == sorted(families, key=registry.SCORED_FAMILIES.index)  # saliency first
    for name, entry in METRICS.items():
        module = {"saliency": sal, "localization": loc}[entry.family]
        assert getattr(module, entry.function.__name__) is entry.function, name
        assert entry.reads and set(entry.reads) <= set(registry.READS), name
        assert bool(entry.thresholds) == (entry.threshold_keyword is not None), name
    assert xk.metrics.METRICS is METRICS


def test_directions_and_references_of_the_study_metrics():
    # what the study tables and widgets read before the registry, entry by entry
    expected = {
        "MAE": (("density",), False),
        "CC": (("density",), True),
        "SIM": (("density",), True),
        "KLD": (("density",), False),
        "NSS": (("fixations",), True),
        "AUC-Judd": (("fixations",), True),
        "sAUC": (("fixations", "other_fixations"), True),
        "hit point": (("boxes",), True),
        "Acc2": (("boxes", "correct"), True),
        "energy IoU": (("boxes",), True),
    }
    for name, (reads, higher) in expected.items():
        assert (METRICS[name].reads, METRICS[name].higher_is_better) == (reads, higher), name
    assert METRICS["energy IoU"].thresholds == loc.ENERGY_FRACTIONS
    assert METRICS["MaxBoxAcc"].thresholds == loc.UCF24_IOU_THRESHOLDS
    assert METRICS["overlap"].thresholds == METRICS["Acc2"].thresholds == (0.0, 0.5, 0.6)


def test_score_averages_per_map_values_over_the_finite_ones():
    maps = np.zeros((3, 4, 4))
    maps[0, 0, 0] = maps[1, 3, 3] = 1.0  # map 2 is flat: NaN
    mask = maps[0] > 0
    values = METRICS["NSS"].score(maps, {"fixations": mask})
    per_map = sal.nss(maps, mask)
    assert np.isnan(per_map[2])
    assert values.tolist() == pytest.approx([np.mean(per_map[:2])])


def test_score_takes_thresholds_and_passes_only_the_options_a_function_takes():
    saliency = np.zeros((1, 6, 6))
    saliency[0, 1:3, 1:3] = 1.0
    boxes = [np.array([[1, 1, 3, 3]])]
    options = {"cam_thresholds": [0.5], "cam_threshold": 0.2, "box_convention": "continuous"}
    entry = METRICS["MaxBoxAcc"]
    assert entry.score(saliency, {"boxes": boxes}, [0.5, 0.9], **options).tolist() == [1.0, 1.0]
    assert entry.labels([0.5, 0.9]) == ["MaxBoxAcc @0.5", "MaxBoxAcc @0.9"]
    assert METRICS["hit point"].score(saliency, {"boxes": boxes}, **options).tolist() == [1.0]
    with pytest.raises(ValueError, match="hit point has no thresholds"):
        METRICS["hit point"].score(saliency, {"boxes": boxes}, [0.5])
    with pytest.raises(ValueError, match="needs at least one threshold"):
        entry.score(saliency, {"boxes": boxes}, [])
    with pytest.raises(ValueError, match=r"MaxBoxAcc needs boxes \(object boxes"):
        entry.score(saliency, {})


def test_evaluate_scores_every_applicable_metric_once():
    heat = np.zeros((6, 6))
    heat[1:3, 1:3] = 1.0
    rows = registry.evaluate(heat, {"boxes": [[[1, 1, 3, 3]]]})
    names = [name for name, _, _ in rows]
    assert list(dict.fromkeys(names)) == [
        name for name, entry in METRICS.items() if entry.reads == ("boxes",)
    ]
    assert all(value == 1.0 for _, _, value in rows)  # a perfect map
    thresholds = [t for name, t, _ in rows if name == "energy IoU"]
    assert thresholds == list(loc.ENERGY_FRACTIONS)


def test_select_checks_names_and_references():
    assert [e.name for e in registry.select(["CC", "MAE"], {"density"})] == ["CC", "MAE"]
    with pytest.raises(ValueError, match=r"unknown metric\(s\) \['AUC'\]; choose from"):
        registry.select(["AUC"], {"fixations"})
    with pytest.raises(ValueError, match="NSS needs fixations"):
        registry.select(["NSS"], {"density"})
    with pytest.raises(ValueError, match="no registered metric reads only"):
        registry.select(None, {"correct"})


def test_higher_is_better_reads_names_and_column_labels():
    assert registry.higher_is_better("KLD") is False
    assert registry.higher_is_better(registry.label("energy IoU", 0.9)) is True
    with pytest.raises(ValueError, match="unknown metric 'IoU @0.5'"):
        registry.higher_is_better("IoU @0.5")


def test_registering_checks_the_declaration():
    def function(saliency, density):
        return 0.0

    with pytest.raises(ValueError, match="'CC' is already registered"):
        registry.metric("CC", reads=("density",), higher_is_better=True)(function)
    with pytest.raises(ValueError, match=r"reads unknown reference\(s\) \['segments'\]"):
        registry.metric("mask score", reads=("segments",), higher_is_better=True)(function)
    with pytest.raises(ValueError, match="thresholds and threshold_keyword together"):
        registry.metric("x", reads=("density",), higher_is_better=True, thresholds=(0.5,))
    assert "mask score" not in METRICS
    with pytest.raises(KeyError, match="unknown metric 'nope'"):
        METRICS["nope"]
