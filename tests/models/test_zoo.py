"""The demo zoo: shipped models load offline, their fitting code and data work, and missing
files get an error that says how to reproduce them. Held-out scores and training runs are
:mod:`xaikit.study.zoo`'s (``tests/study/test_zoo.py``)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import xaikit as xk
from xaikit.models.zoo import cards, datasets, detector

# Held-out seeds of the tests: above the cards' held-out seed, far from every training seed.
SHAPES_SEED, ACTIONS_SEED, MICE_SEED = 200_001, 200_002, 200_003


def shipped_card(name: str) -> dict:
    """The shipped card of ``name``; skips (naming the command) when the model is not trained."""
    if not cards.card_path(name).is_file():
        pytest.skip(f"{name} is not shipped yet: {cards.reproduce_command(name)}")
    return cards.read_card(name)


def load_shipped(name: str, weights: str = "DEFAULT"):
    """The shipped model ``name`` on the CPU (skips when it is not trained)."""
    shipped_card(name)
    return xk.models.load(name, weights=weights, device="cpu")


@pytest.mark.parametrize("name", ["demo-shapes", "demo-actions", "demo-mice", "demo-mice-full"])
def test_card_names_the_shipped_weights(name):
    card = shipped_card(name)
    total = 0
    for entry in card["weights"].values():
        path = cards.WEIGHTS_DIR / entry["file"]
        assert cards.sha256(path) == entry["sha256"], f"{path.name} is not the file its card scored"
        total += path.stat().st_size
    assert total < 15 * 2**20
    assert card["data"]["held_out"]["first_seed"] >= datasets.HELD_OUT_SEED
    assert card["scores"], "the card has no held-out scores"


def test_all_weights_fit_in_15_mb():
    sizes = [p.stat().st_size for p in cards.WEIGHTS_DIR.iterdir() if p.suffix != ".json"]
    assert sum(sizes) <= 15 * 10**6


def test_demo_shapes_card_matches_the_loaded_model():
    model = load_shipped("demo-shapes")
    info = xk.models.info(model)
    assert info.task == "classification" and info.categories == list(datasets.synthetic.CLASSES)
    assert info.layers == [f"features.conv{n}" for n in range(1, 6)]
    assert not model.training


def test_demo_actions_gated_variant_weighs_every_stage():
    model = load_shipped("demo-actions", "gated")
    clip = datasets.action_set(2, 8, (64, 64), seed=ACTIONS_SEED)[0]
    x, _ = xk.models.info(model).preprocess(clip, device="cpu")
    assert x.shape == (2, 3, 8, 64, 64)
    model(x)
    assert model.last_gates.shape == (2, 5)
    assert ((model.last_gates > 0) & (model.last_gates < 1)).all()  # one sigmoid gate per stage
    assert [tuple(p.shape) for p in model.pooled(x)] == [(2, n, 1, 1, 1) for n in (4, 4, 2, 1, 1)]


def test_demo_mice_card_matches_the_loaded_model():
    model = load_shipped("demo-mice")
    info = xk.models.info(model)
    assert info.task == "detection" and model.class_names == ["mouse"]
    assert model.head_layer_names == ["module_list.16", "module_list.23"]
    data = detector.held_out(MICE_SEED, clips=2, frames=4, every=2)
    assert len(data) == 4 and len(data.boxes) == len(data.difficult) == 4


def test_yolo_loss_decreases_on_one_batch():
    model = detector.Darknet.from_cfg(detector.CFG)
    torch.manual_seed(0)
    x = torch.rand(2, 3, *model.input_size)
    boxes = [torch.tensor([[40.0, 40, 60, 70]]), torch.tensor([[100.0, 120, 150, 160]])]
    optimizer = torch.optim.Adam(model.parameters(), 1e-2)
    losses = []
    for _ in range(5):
        loss, parts = detector.yolo_loss(model, model(x), boxes)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert set(parts) == {"box", "obj", "cls"} and losses[-1] < losses[0]


def test_boxes_train_several_anchors_and_neighbour_cells():
    model = detector.Darknet.from_cfg(detector.CFG)
    box = [torch.tensor([[100.0, 50, 120, 63]])]  # 20 x 13 at centre (110, 56.5)
    single = detector.assign_targets(model, box)
    several = detector.assign_targets(model, box, anchor_iou=0.3)
    assert sum(map(len, single)) == 4  # best anchor, centre cell and 3 neighbours (2 x 2)
    assert sum(map(len, several)) > sum(map(len, single))
    stride = model.heads[1].stride
    for _, _, row, col, _ in several[1]:
        assert abs((col + 0.5) * stride - 110) < 1.5 * stride
        assert abs((row + 0.5) * stride - 56.5) < 1.5 * stride


def test_missing_weight_file_names_it_and_the_command(tmp_path, monkeypatch):
    entry = {"file": "demo-shapes.pt"}
    cards.write_card({"name": "demo-shapes", "weights": {"DEFAULT": entry}}, tmp_path)
    monkeypatch.setattr(cards, "WEIGHTS_DIR", tmp_path)
    with pytest.raises(FileNotFoundError, match=r"demo-shapes\.pt is missing") as error:
        xk.models.load("demo-shapes", device="cpu")
    assert "python -m xaikit.study.zoo demo-shapes" in str(error.value)
    with pytest.raises(FileNotFoundError, match=r"demo-mice\.json is missing"):
        xk.models.load("demo-mice", device="cpu")


def test_unknown_demo_weights_entry_lists_the_valid_ones():
    shipped_card("demo-actions")
    with pytest.raises(ValueError, match="'DEFAULT', 'gated'"):
        xk.models.load("demo-actions", weights="nope", device="cpu")


def test_held_out_and_training_seeds_never_meet():
    with pytest.raises(ValueError, match="held-out seeds start"):
        datasets.check_held_out(datasets.TRAINING_SEED)
    with pytest.raises(ValueError, match="training set must use seeds"):
        datasets.check_training(10, datasets.HELD_OUT_SEED - 1, 1)
    assert np.all(np.array([SHAPES_SEED, ACTIONS_SEED, MICE_SEED]) > datasets.CARD_SEED)


def test_arena_sets_can_add_every_frame_where_a_mouse_is_hidden():
    seed = 109_000  # clip 2 (seed 109_002, resident-intruder) has ten frames below 0.8
    plain = datasets.arena_set(3, 60, seed=seed, every=30)
    busy = datasets.arena_set(3, 60, seed=seed, every=30, occluded=0.8)
    truth = datasets.synthetic.arena("resident_intruder", 60, seed=seed + 2).truth
    hidden = set(truth.loc[truth["visible"] < 0.8, "frame"]) - {0, 30}
    assert len(plain) == 6 and len(busy) == 6 + len(hidden) > 6
    assert busy.setups.count("resident_intruder") == 2 + len(hidden)
    assert all(len(d) == len(b) for d, b in zip(busy.difficult, busy.boxes, strict=True))


def test_difficult_boxes_train_nothing_but_shield_their_predictions():
    model = detector.Darknet.from_cfg(detector.CFG)
    torch.manual_seed(0)
    x = torch.rand(1, 3, *model.input_size)
    box = [torch.tensor([[100.0, 50, 130, 70]])]
    outputs = model(x)
    _, counted = detector.yolo_loss(model, outputs, box, difficult=[torch.tensor([False])])
    # ignore_iou 0: every prediction touching the hidden box is spared the "no object" penalty
    _, hidden = detector.yolo_loss(model, outputs, box, 0.0, difficult=[torch.tensor([True])])
    _, empty = detector.yolo_loss(model, outputs, [torch.zeros(0, 4)], 0.0)
    assert counted["box"] > 0 and counted["cls"] > 0
    assert hidden["box"] == hidden["cls"] == 0.0
    assert hidden["obj"] < empty["obj"]
