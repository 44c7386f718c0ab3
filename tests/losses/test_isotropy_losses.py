"""Isotropy losses: values against numpy/closed forms, gradients, and the collapse behaviour of each kind.

(File named test_isotropy_losses.py, not test_isotropy.py, so that its module name cannot clash with the
tests of the isotropy measurement module.)
"""

import math

import numpy as np
import pytest
import torch

from ragcun.config import ISOTROPY_KINDS
from ragcun.errors import ConfigError
from ragcun.losses.isotropy import (
    _sigreg_no_grad,
    covariance_isotropy,
    identity_isotropy,
    isotropy_loss,
    random_directions,
    sigreg,
    shape_isotropy,
    sigreg_statistic,
)


def _gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _gaussian(n: int, d: int, seed: int = 0) -> torch.Tensor:
    return torch.randn(n, d, generator=_gen(seed), dtype=torch.float64)


def _correlated(n: int = 50, d: int = 4, seed: int = 1) -> torch.Tensor:
    mix = torch.tensor([[1.0, 0.5, 0.0, 0.2], [0.0, 2.0, 0.3, 0.0], [0.0, 0.0, 0.7, 0.0], [0.1, 0.0, 0.0, 1.5]])
    return _gaussian(n, d, seed) @ mix.to(torch.float64)[:d, :d] + 0.3


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


# --- covariance / identity -----------------------------------------------------------------------------------


def test_covariance_and_identity_match_numpy():
    z = _correlated()
    c = np.cov(z.numpy(), rowvar=False)
    d = c.shape[0]
    expected_cov = np.linalg.norm(c - np.trace(c) / d * np.eye(d), "fro") / d
    expected_id = np.linalg.norm(c - np.eye(d), "fro") / d
    assert covariance_isotropy(z).item() == pytest.approx(expected_cov, rel=1e-12)
    assert identity_isotropy(z).item() == pytest.approx(expected_id, rel=1e-12)


@pytest.mark.parametrize("loss", [covariance_isotropy, identity_isotropy])
def test_covariance_losses_gradcheck(loss):
    z = _correlated(n=8, d=3).requires_grad_(True)
    assert torch.autograd.gradcheck(loss, (z,))


def test_identity_of_whitened_data_is_zero():
    z = _correlated(n=200).numpy()
    centred = z - z.mean(axis=0)
    eigenvalues, eigenvectors = np.linalg.eigh(np.cov(z, rowvar=False))
    whitened = centred @ eigenvectors @ np.diag(eigenvalues**-0.5) @ eigenvectors.T
    assert identity_isotropy(torch.from_numpy(whitened)).item() == pytest.approx(0.0, abs=1e-12)
    assert covariance_isotropy(torch.from_numpy(whitened)).item() == pytest.approx(0.0, abs=1e-12)


# --- the collapse test -------------------------------------------------------------------------------------


def test_covariance_rewards_shrinking():
    z = _correlated()
    assert covariance_isotropy(0.5 * z) < covariance_isotropy(z)
    # degree-2 homogeneous: exactly a quarter
    assert covariance_isotropy(0.5 * z).item() == pytest.approx(covariance_isotropy(z).item() / 4, rel=1e-12)


def test_identity_and_sigreg_do_not_reward_shrinking_a_standard_gaussian():
    z = _gaussian(2000, 8)
    assert identity_isotropy(0.5 * z) > identity_isotropy(z)
    shrunk = sigreg(0.5 * z, num_directions=64, generator=_gen(3))
    assert shrunk > sigreg(z, num_directions=64, generator=_gen(3))


# --- SIGReg ------------------------------------------------------------------------------------------------


def test_sigreg_small_for_gaussian_large_for_stretched_or_shifted():
    z = _gaussian(2000, 8)
    stretched = z * torch.tensor([3.0] + [1.0] * 7, dtype=z.dtype)
    value = {
        name: sigreg(x, num_directions=128, generator=_gen(5)).item()
        for name, x in [("gaussian", z), ("stretched", stretched), ("shifted", z + 1.0)]
    }
    assert value["gaussian"] < 3.0
    assert value["stretched"] > 50.0
    assert value["shifted"] > 50.0


def test_sigreg_mean_under_the_null_matches_theory():
    # E[N |phi_N(t) - phi(t)|^2] = 1 - exp(-t^2) for an N(0,1) sample, whatever N; integrate it the same way.
    t = np.linspace(0.0, 3.0, 17)
    expected = 2 * np.trapezoid((1 - np.exp(-(t**2))) * np.exp(-(t**2) / 2), t)
    values = [sigreg_statistic(_gaussian(300, 2, seed=s), num_directions=8, seed=s) for s in range(40)]
    assert np.mean(values) == pytest.approx(expected, abs=0.25)


def test_sigreg_one_dimension_matches_independent_numpy():
    # In one dimension the unit direction is +-1 and the statistic does not depend on the sign.
    x = np.array([-1.3, 0.2, 0.4, 2.1, -0.7])
    z = torch.from_numpy(x[:, None])
    got = sigreg(z, num_directions=3, generator=_gen())
    assert got.item() == pytest.approx(_ep_numpy(x, 3.0, 17), rel=1e-12)


def test_sigreg_quadrature_converges_to_the_closed_form():
    x = np.array([-1.3, 0.2, 0.4, 2.1, -0.7, 0.05])
    got = sigreg(torch.from_numpy(x[:, None]), num_directions=1, generator=_gen(), num_knots=321, t_max=8.0)
    assert got.item() == pytest.approx(_ep_closed_form(x), rel=1e-8)


def test_sigreg_averages_over_the_generators_directions():
    z = _gaussian(30, 3, seed=2)
    directions = random_directions(3, 4, _gen(7)).to(torch.float64)
    expected = np.mean([_ep_numpy((z @ directions[:, m]).numpy(), 3.0, 17) for m in range(4)])
    assert sigreg(z, num_directions=4, generator=_gen(7)).item() == pytest.approx(expected, rel=1e-6)


def test_random_directions_are_unit_vectors():
    a = random_directions(5, 7, _gen())
    torch.testing.assert_close(torch.linalg.vector_norm(a, dim=0), torch.ones(7))


def test_sigreg_draws_new_directions_each_call_reproducibly():
    z = _correlated(n=40)
    g = _gen(11)
    first, second = (sigreg(z, num_directions=4, generator=g).item() for _ in range(2))
    assert first != second
    assert sigreg(z, num_directions=4, generator=_gen(11)).item() == first


def test_sigreg_gradcheck():
    z = _correlated(n=6, d=3).requires_grad_(True)
    assert torch.autograd.gradcheck(lambda x: sigreg(x, num_directions=3, generator=_gen(1)), (z,))


def test_sigreg_statistic_equals_the_loss_and_accepts_numpy():
    z = _correlated(n=60)
    loss = sigreg(z, num_directions=16, generator=_gen(4)).item()
    assert sigreg_statistic(z, num_directions=16, seed=4) == pytest.approx(loss, rel=1e-12)
    assert sigreg_statistic(z.numpy().astype(np.float32), 16, 4) == pytest.approx(loss, rel=1e-5)


def test_sigreg_statistic_blocks_sum_to_the_whole():
    z = _correlated(n=37)
    whole = _sigreg_no_grad(z, 5, 0, block_rows=100)
    assert _sigreg_no_grad(z, 5, 0, block_rows=4) == pytest.approx(whole, rel=1e-12)


def test_low_precision_input_is_computed_in_float32():
    z = _correlated(n=200).float()
    reference = sigreg(z, num_directions=8, generator=_gen())
    low = sigreg(z.bfloat16(), num_directions=8, generator=_gen())
    assert low.dtype == torch.float32
    assert low.item() == pytest.approx(reference.item(), rel=0.05)


# --- dispatcher ---------------------------------------------------------------------------------------------


def test_dispatcher_routes_each_kind():
    z = _correlated()
    assert isotropy_loss("covariance", z).item() == covariance_isotropy(z).item()
    assert isotropy_loss("identity", z).item() == identity_isotropy(z).item()
    via = isotropy_loss("sigreg", z, generator=_gen(2), num_directions=5).item()
    assert via == sigreg(z, num_directions=5, generator=_gen(2)).item()
    assert isotropy_loss("shape", z).item() == shape_isotropy(z).item()
    assert set(ISOTROPY_KINDS) == {"covariance", "identity", "shape", "sigreg"}


def test_dispatcher_errors_are_explicit():
    z = _correlated()
    # a kind outside config.IsotropyKind cannot come from params.yaml (the schema refuses it): a programming error
    with pytest.raises(ValueError, match="'whitening' is not one of config.IsotropyKind"):
        isotropy_loss("whitening", z)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="Generator"):
        isotropy_loss("sigreg", z)
    with pytest.raises(ConfigError, match="at least 2"):
        isotropy_loss("identity", z[:1])
    with pytest.raises(ConfigError, match="sigreg_directions"):
        sigreg(z, num_directions=0, generator=_gen())


# --- shape ------------------------------------------------------------------------------------------------


def test_shape_is_std_over_mean_of_the_covariance_eigenvalues():
    z = _correlated(n=200)
    eigenvalues = np.linalg.eigvalsh(np.cov(z.numpy(), rowvar=False))
    expected = eigenvalues.std() / eigenvalues.mean()  # population std over the D eigenvalues
    assert shape_isotropy(z).item() == pytest.approx(expected, rel=1e-9)


def test_shape_is_one_minus_the_notes_isotropy_score():
    from ragcun.isotropy import eigen_score, eigenvalue_spectrum

    z = _correlated(n=300)
    assert shape_isotropy(z).item() == pytest.approx(1.0 - eigen_score(eigenvalue_spectrum(z.numpy())), rel=1e-9)


def test_shape_ignores_scale_and_location_unlike_covariance():
    z = _correlated(n=120)
    assert shape_isotropy(0.01 * z + 5.0).item() == pytest.approx(shape_isotropy(z).item(), rel=1e-9)
    assert covariance_isotropy(0.01 * z).item() == pytest.approx(1e-4 * covariance_isotropy(z).item(), rel=1e-9)


def test_shape_floor_of_a_rank_deficient_batch():
    """N rows in D > N dimensions leave D - N + 1 zero eigenvalues: the loss cannot go below
    sqrt(D / (N - 1) - 1) even for an ideal Gaussian batch (what the README says of 64 queries in 384-d)."""
    n, d = 64, 384
    value = shape_isotropy(_gaussian(n, d, seed=3)).item()
    floor = math.sqrt(d / (n - 1) - 1)
    assert value >= floor - 1e-9
    assert value < floor * 1.3


def test_shape_gradient_descent_flattens_the_spectrum():
    z = _correlated(n=400).clone().requires_grad_(True)
    optimizer = torch.optim.SGD([z], lr=5.0)
    start = shape_isotropy(z).item()
    for _ in range(200):
        optimizer.zero_grad()
        loss = shape_isotropy(z)
        loss.backward()
        optimizer.step()
    assert shape_isotropy(z).item() < 0.2 * start
