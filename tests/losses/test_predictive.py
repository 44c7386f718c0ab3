"""Predictive MSE: value, gradient, and the stop-gradient on the target."""

import numpy as np
import pytest
import torch

from ragcun.losses.predictive import predictive_mse


def test_value_and_gradient_by_hand():
    prediction = torch.tensor([[1.0, 2.0], [0.0, -1.0]], requires_grad=True)
    target = torch.tensor([[0.0, 2.0], [3.0, 1.0]], requires_grad=True)
    loss = predictive_mse(prediction, target)
    # squared errors 1, 0, 9, 4 over 4 entries
    assert loss.item() == pytest.approx(14 / 4)
    loss.backward()
    np.testing.assert_allclose(prediction.grad.numpy(), 2 * (prediction - target).detach().numpy() / 4)
    assert target.grad is None  # stop-gradient: nothing flows into the target branch


def test_no_gradient_reaches_the_module_producing_the_target():
    target_module = torch.nn.Linear(3, 3)
    x = torch.randn(5, 3)
    prediction = torch.randn(5, 3, requires_grad=True)
    predictive_mse(prediction, target_module(x)).backward()
    assert all(p.grad is None for p in target_module.parameters())
    assert prediction.grad is not None


def test_shape_mismatch():
    with pytest.raises(ValueError, match="shapes differ"):
        predictive_mse(torch.zeros(2, 3), torch.zeros(3, 2))
