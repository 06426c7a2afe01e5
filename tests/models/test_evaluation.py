"""Model evaluation: accuracy through the model's own preprocessing, top classes."""

import numpy as np
import pytest
import torch
from torch import nn

import xaikit as xk
from xaikit.models.registry import ModelInfo


class _Fixed(nn.Module):
    """Logits equal to the input's first three values."""

    def forward(self, x):
        return x.flatten(1)[:, :3]


def test_top_classes_ranks_and_probabilities():
    x = torch.log(torch.tensor([[0.2, 0.5, 0.3]]))
    top = xk.models.top_classes(_Fixed(), x, k=2, categories=["a", "b", "c"])
    assert top[["item", "rank", "class", "name"]].values.tolist() == [
        [0, 1, 1, "b"],
        [0, 2, 2, "c"],
    ]
    assert top["probability"].tolist() == pytest.approx([0.5, 0.3])
    assert len(xk.models.top_classes(_Fixed(), x, k=5)) == 3  # at most K classes
    with pytest.raises(ValueError, match="k must be an int >= 1; got 0"):
        xk.models.top_classes(_Fixed(), x, k=0)


def test_accuracy_uses_the_models_preprocessing():
    model = _Fixed()
    nn.Module.__setattr__(model, "p", nn.Parameter(torch.zeros(1)))  # gives it a device
    seen = []

    def preprocess(items, device=None):
        seen.append(device)
        return torch.as_tensor(items, dtype=torch.float32), None

    model.xaikit_info = ModelInfo(
        name="fixed", task="classification", preprocess=preprocess, categories=None, weights=None
    )
    items = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, 1.0, 0.0], [1.0, 0.0, 0.0]])
    assert xk.models.accuracy(model, items, [0, 2, 0, 0], batch_size=3) == 0.75
    assert seen == [torch.device("cpu")] * 2  # two batches, on the model's device
    with pytest.raises(ValueError, match="got 4 items and 1 labels"):
        xk.models.accuracy(model, items, [0])
