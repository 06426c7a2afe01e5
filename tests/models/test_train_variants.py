"""Retraining one weights entry of a demo classifier (``python -m xaikit.study.zoo demo-actions
--variant gated``): the other entries stay as they were, and the retrained one is what a full run
of the same recipe gives, since each variant starts from the recipe's seed."""

from __future__ import annotations

import json

import pytest

from xaikit.models.zoo import cards
from xaikit.study import zoo

SMOKE = {"train_items": 64, "held_out_items": 16, "max_steps": 2}


def test_training_only_the_gated_variant_keeps_the_default_entry(tmp_path):
    full = zoo.train("demo-actions", tmp_path, "cpu", **SMOKE)
    default_sha = cards.sha256(tmp_path / "demo-actions.pt")
    (tmp_path / "demo-actions-gated.pt").unlink()

    card = zoo.train("demo-actions", tmp_path, "cpu", variants=["gated"], **SMOKE)

    assert cards.sha256(tmp_path / "demo-actions.pt") == default_sha  # not rewritten
    assert card["weights"] == full["weights"]  # the gated file is bit for bit the full run's
    assert list(card["weights"]) == list(card["parameters"]) == ["DEFAULT", "gated"]
    assert card["scores"] == full["scores"]
    assert card["training"]["seconds"]["DEFAULT"] == full["training"]["seconds"]["DEFAULT"]
    assert cards.read_card("demo-actions", tmp_path) == json.loads(json.dumps(card))

    with pytest.raises(ValueError, match="records another run"):
        zoo.train("demo-actions", tmp_path, "cpu", variants=["gated"], **{**SMOKE, "max_steps": 1})
    with pytest.raises(ValueError, match="no weights"):
        zoo.train("demo-actions", tmp_path, "cpu", variants=["nope"], **SMOKE)
