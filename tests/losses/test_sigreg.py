"""SIGReg: the Epps-Pulley statistic against an independent numpy version and its closed form, its mean under
the null, the random directions, gradients, the measurement (no gradient, blocked) and low-precision input."""

import math

import numpy as np
import pytest
import torch
from loss_inputs import correlated, gaussian, gen

from ragcun.losses.sigreg import _sigreg_no_grad, random_directions, sigreg, sigreg_statistic


def _ep_numpy(x: np.ndarray, t_max: float, knots: int) -> float:
    """Epps-Pulley of a 1-D sample, written independently: complex ECF on the full symmetric grid."""
    t = np.linspace(-t_max, t_max, 2 * knots - 1)  # the half-grid of `knots` points, mirrored
    ecf = np.exp(1j * np.outer(t, x)).mean(axis=1)
    integrand = np.abs(ecf - np.exp(-(t**2) / 2)) ** 2 * np.exp(-(t**2) / 2)
    return len(x) * float(np.trapezoid(integrand, t))


def _ep_closed_form(x: np.ndarray) -> float:
    """N * integral over the whole real line of |phi_N - phi|^2 exp(-t^2/2), by Gaussian integrals:
    int cos(a t) e^{-t^2/2} = sqrt(2 pi) e^{-a^2/2}; int cos(x t) e^{-t^2} = sqrt(pi) e^{-x^2/4};
    int e^{-3 t^2/2} = sqrt(2 pi / 3)."""
    n = len(x)
    diff = x[:, None] - x[None, :]
    ecf_sq = math.sqrt(2 * math.pi) * np.exp(-(diff**2) / 2).sum() / n**2
    cross = 2 * math.sqrt(math.pi) * np.exp(-(x**2) / 4).mean()
    return n * (ecf_sq - cross + math.sqrt(2 * math.pi / 3))


def test_sigreg_small_for_gaussian_large_for_stretched_or_shifted():
    z = gaussian(2000, 8)
    stretched = z * torch.tensor([3.0] + [1.0] * 7, dtype=z.dtype)
    value = {
        name: sigreg(x, num_directions=128, generator=gen(5)).item()
        for name, x in [("gaussian", z), ("stretched", stretched), ("shifted", z + 1.0)]
    }
    assert value["gaussian"] < 3.0
    assert value["stretched"] > 50.0
    assert value["shifted"] > 50.0


def test_sigreg_mean_under_the_null_matches_theory():
    # E[N |phi_N(t) - phi(t)|^2] = 1 - exp(-t^2) for an N(0,1) sample, whatever N; integrate it the same way.
    t = np.linspace(0.0, 3.0, 17)
    expected = 2 * np.trapezoid((1 - np.exp(-(t**2))) * np.exp(-(t**2) / 2), t)
    values = [sigreg_statistic(gaussian(300, 2, seed=s), num_directions=8, seed=s) for s in range(40)]
    assert np.mean(values) == pytest.approx(expected, abs=0.25)


def test_sigreg_one_dimension_matches_independent_numpy():
    # In one dimension the unit direction is +-1 and the statistic does not depend on the sign.
    x = np.array([-1.3, 0.2, 0.4, 2.1, -0.7])
    z = torch.from_numpy(x[:, None])
    got = sigreg(z, num_directions=3, generator=gen())
    assert got.item() == pytest.approx(_ep_numpy(x, 3.0, 17), rel=1e-12)


def test_sigreg_quadrature_converges_to_the_closed_form():
    x = np.array([-1.3, 0.2, 0.4, 2.1, -0.7, 0.05])
    got = sigreg(torch.from_numpy(x[:, None]), num_directions=1, generator=gen(), num_knots=321, t_max=8.0)
    assert got.item() == pytest.approx(_ep_closed_form(x), rel=1e-8)


def test_sigreg_averages_over_the_generators_directions():
    z = gaussian(30, 3, seed=2)
    directions = random_directions(3, 4, gen(7)).to(torch.float64)
    expected = np.mean([_ep_numpy((z @ directions[:, m]).numpy(), 3.0, 17) for m in range(4)])
    assert sigreg(z, num_directions=4, generator=gen(7)).item() == pytest.approx(expected, rel=1e-6)


def test_random_directions_are_unit_vectors():
    a = random_directions(5, 7, gen())
    torch.testing.assert_close(torch.linalg.vector_norm(a, dim=0), torch.ones(7))


def test_sigreg_draws_new_directions_each_call_reproducibly():
    z = correlated(n=40)
    g = gen(11)
    first, second = (sigreg(z, num_directions=4, generator=g).item() for _ in range(2))
    assert first != second
    assert sigreg(z, num_directions=4, generator=gen(11)).item() == first


def test_sigreg_gradcheck():
    z = correlated(n=6, d=3).requires_grad_(True)
    assert torch.autograd.gradcheck(lambda x: sigreg(x, num_directions=3, generator=gen(1)), (z,))


def test_sigreg_statistic_equals_the_loss_and_accepts_numpy():
    z = correlated(n=60)
    loss = sigreg(z, num_directions=16, generator=gen(4)).item()
    assert sigreg_statistic(z, num_directions=16, seed=4) == pytest.approx(loss, rel=1e-12)
    assert sigreg_statistic(z.numpy().astype(np.float32), 16, 4) == pytest.approx(loss, rel=1e-5)


def test_sigreg_statistic_blocks_sum_to_the_whole():
    z = correlated(n=37)
    whole = _sigreg_no_grad(z, 5, 0, block_rows=100)
    assert _sigreg_no_grad(z, 5, 0, block_rows=4) == pytest.approx(whole, rel=1e-12)


def test_low_precision_input_is_computed_in_float32():
    z = correlated(n=200).float()
    reference = sigreg(z, num_directions=8, generator=gen())
    low = sigreg(z.bfloat16(), num_directions=8, generator=gen())
    assert low.dtype == torch.float32
    assert low.item() == pytest.approx(reference.item(), rel=0.05)
