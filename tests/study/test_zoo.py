"""The demo zoo's cards: shipped models reach their scores on fresh held-out data, and training
from the seed runs end to end (smoke runs), writing models that load."""

from __future__ import annotations

import pytest
import torch

import xaikit as xk
from tests.models.test_zoo import ACTIONS_SEED, MICE_SEED, SHAPES_SEED, load_shipped
from xaikit.models.zoo import datasets, detector
from xaikit.models.zoo.loading import load_demo
from xaikit.study import zoo


def test_demo_shapes_is_accurate_on_unseen_images():
    accuracy = zoo.score_classifier("demo-shapes", load_shipped("demo-shapes"), SHAPES_SEED, 300)
    assert accuracy >= 0.95


@pytest.mark.parametrize("weights", ["DEFAULT", "gated"])
def test_demo_actions_is_accurate_on_unseen_clips(weights):
    model = load_shipped("demo-actions", weights)
    assert zoo.score_classifier("demo-actions", model, ACTIONS_SEED, 160) >= 0.9


def test_demo_mice_finds_the_mice_in_all_setups():
    model = load_shipped("demo-mice")
    scores = zoo.score_detector(model, detector.held_out(MICE_SEED, clips=6, frames=10, every=2))
    assert set(scores) == {"all", *datasets.synthetic.SETUPS}
    assert scores["all"]["frames"] == 30
    assert sum(scores[setup]["frames"] for setup in datasets.synthetic.SETUPS) == 30
    assert scores["all"]["map50"] >= 0.95


def test_held_out_scoring_refuses_training_seeds():
    with pytest.raises(ValueError, match="held-out seeds start"):
        zoo.score_classifier("demo-shapes", None, datasets.TRAINING_SEED, 4)


def test_training_smoke_runs_write_loadable_models(tmp_path):
    card = zoo.train("demo-shapes", tmp_path, "cpu", train_items=32, held_out_items=16, max_steps=2)
    assert (tmp_path / "demo-shapes.pt").is_file() and (tmp_path / "demo-shapes.json").is_file()
    assert 0.0 <= card["scores"]["held_out_accuracy"]["DEFAULT"] <= 1.0
    trained = load_demo("demo-shapes", device="cpu", folder=tmp_path)
    untrained = load_demo("demo-shapes", weights=None, device="cpu", folder=tmp_path)
    assert trained.xaikit_info.card["recipe"]["max_steps"] == 2
    first = "features.conv1.0.weight"
    assert not torch.equal(trained.state_dict()[first], untrained.state_dict()[first])

    mice = zoo.train("demo-mice", tmp_path, "cpu", train_clips=3, held_out_clips=3, max_steps=2)
    weights = tmp_path / "demo-mice.weights"
    reloaded = xk.models.load_darknet(tmp_path / "demo-mice.cfg", weights, device="cpu")
    x = torch.rand(1, 3, *reloaded.input_size)
    ours = load_demo("demo-mice", device="cpu", folder=tmp_path)
    for a, b in zip(ours(x), reloaded(x), strict=True):
        torch.testing.assert_close(a, b)
    assert set(mice["scores"]["held_out_map50"]) == {"all", *datasets.synthetic.SETUPS}
    assert mice["recipe"]["eval"]["conf_threshold"] == zoo.EVAL_CONF


def test_the_command_line_checks_its_arguments(capsys):
    with pytest.raises(SystemExit):
        zoo.main(["demo-nothing"])
    assert "invalid choice: 'demo-nothing'" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        zoo.main(["demo-shapes", "--threads", "0"])
    assert "--threads must be >= 1; got 0" in capsys.readouterr().err
