"""std regulariser and residual penalty: values against numpy, gradients."""

import numpy as np
import pytest
import torch

from ragcun.errors import ConfigError
from ragcun.losses.regularization import residual_penalty, std_regularization


def test_std_regularization_matches_numpy():
    z = np.array([[0.0, 1.0, 5.0], [2.0, 1.5, 5.0], [4.0, 3.5, 8.0], [1.0, 0.0, 2.0]])
    expected = (np.std(z, axis=0, ddof=1).mean() - 0.7) ** 2
    assert std_regularization(torch.from_numpy(z), 0.7).item() == pytest.approx(expected, rel=1e-12)


def test_std_regularization_ignores_differences_between_dimension_means():
    z = torch.randn(10, 3, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    shifted = z + torch.tensor([100.0, -50.0, 7.0], dtype=z.dtype)
    assert std_regularization(shifted, 1.0).item() == pytest.approx(std_regularization(z, 1.0).item(), rel=1e-9)


def test_std_regularization_gradcheck_and_collapsed_input():
    z = torch.randn(6, 3, generator=torch.Generator().manual_seed(1), dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda x: std_regularization(x, 1.3), (z,))
    collapsed = torch.ones(4, 3, requires_grad=True)
    std_regularization(collapsed, 1.0).backward()
    assert torch.isfinite(collapsed.grad).all()


def test_std_regularization_rejects_bad_input():
    with pytest.raises(ConfigError, match="target_std"):
        std_regularization(torch.zeros(3, 2), 0.0)
    with pytest.raises(ValueError, match="N >= 2"):
        std_regularization(torch.zeros(1, 2), 1.0)


def test_residual_penalty_value_and_gradient():
    delta = torch.tensor([[3.0, 4.0], [1.0, 0.0], [0.0, 0.0]], requires_grad=True)
    loss = residual_penalty(delta)
    assert loss.item() == pytest.approx((25 + 1 + 0) / 3)
    loss.backward()
    np.testing.assert_allclose(delta.grad.numpy(), 2 * delta.detach().numpy() / 3)


def test_low_precision_input_is_computed_in_float32():
    z = torch.randn(64, 8, generator=torch.Generator().manual_seed(2))
    low = std_regularization(z.bfloat16(), 0.5)
    assert low.dtype == torch.float32
    assert low.item() == pytest.approx(std_regularization(z, 0.5).item(), rel=0.02)
    assert residual_penalty(z.bfloat16()).dtype == torch.float32
