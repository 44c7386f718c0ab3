"""Covariance, identity and shape isotropy losses: values against numpy, gradients, how each answers to
shrinking, and the shape loss against the notes' isotropy score."""

import math

import numpy as np
import pytest
import torch
from loss_inputs import correlated, gaussian

from ragcun.losses.covariance import covariance_isotropy, identity_isotropy, shape_isotropy


def test_covariance_and_identity_match_numpy():
    z = correlated()
    c = np.cov(z.numpy(), rowvar=False)
    d = c.shape[0]
    expected_cov = np.linalg.norm(c - np.trace(c) / d * np.eye(d), "fro") / d
    expected_id = np.linalg.norm(c - np.eye(d), "fro") / d
    assert covariance_isotropy(z).item() == pytest.approx(expected_cov, rel=1e-12)
    assert identity_isotropy(z).item() == pytest.approx(expected_id, rel=1e-12)


@pytest.mark.parametrize("loss", [covariance_isotropy, identity_isotropy])
def test_covariance_losses_gradcheck(loss):
    z = correlated(n=8, d=3).requires_grad_(True)
    assert torch.autograd.gradcheck(loss, (z,))


def test_identity_of_whitened_data_is_zero():
    z = correlated(n=200).numpy()
    centred = z - z.mean(axis=0)
    eigenvalues, eigenvectors = np.linalg.eigh(np.cov(z, rowvar=False))
    whitened = centred @ eigenvectors @ np.diag(eigenvalues**-0.5) @ eigenvectors.T
    assert identity_isotropy(torch.from_numpy(whitened)).item() == pytest.approx(0.0, abs=1e-12)
    assert covariance_isotropy(torch.from_numpy(whitened)).item() == pytest.approx(0.0, abs=1e-12)


def test_covariance_rewards_shrinking():
    z = correlated()
    assert covariance_isotropy(0.5 * z) < covariance_isotropy(z)
    # degree-2 homogeneous: exactly a quarter
    assert covariance_isotropy(0.5 * z).item() == pytest.approx(covariance_isotropy(z).item() / 4, rel=1e-12)


def test_shape_is_std_over_mean_of_the_covariance_eigenvalues():
    z = correlated(n=200)
    eigenvalues = np.linalg.eigvalsh(np.cov(z.numpy(), rowvar=False))
    expected = eigenvalues.std() / eigenvalues.mean()  # population std over the D eigenvalues
    assert shape_isotropy(z).item() == pytest.approx(expected, rel=1e-9)


def test_shape_is_one_minus_the_notes_isotropy_score():
    from ragcun.isotropy import eigen_score, eigenvalue_spectrum

    z = correlated(n=300)
    assert shape_isotropy(z).item() == pytest.approx(1.0 - eigen_score(eigenvalue_spectrum(z.numpy())), rel=1e-9)


def test_shape_ignores_scale_and_location_unlike_covariance():
    z = correlated(n=120)
    assert shape_isotropy(0.01 * z + 5.0).item() == pytest.approx(shape_isotropy(z).item(), rel=1e-9)
    assert covariance_isotropy(0.01 * z).item() == pytest.approx(1e-4 * covariance_isotropy(z).item(), rel=1e-9)


def test_shape_floor_of_a_rank_deficient_batch():
    """N rows in D > N dimensions leave D - N + 1 zero eigenvalues: the loss cannot go below
    sqrt(D / (N - 1) - 1) even for an ideal Gaussian batch (what the README says of 64 queries in 384-d)."""
    n, d = 64, 384
    value = shape_isotropy(gaussian(n, d, seed=3)).item()
    floor = math.sqrt(d / (n - 1) - 1)
    assert value >= floor - 1e-9
    assert value < floor * 1.3


def test_shape_gradient_descent_flattens_the_spectrum():
    z = correlated(n=400).clone().requires_grad_(True)
    optimizer = torch.optim.SGD([z], lr=5.0)
    start = shape_isotropy(z).item()
    for _ in range(200):
        optimizer.zero_grad()
        loss = shape_isotropy(z)
        loss.backward()
        optimizer.step()
    assert shape_isotropy(z).item() < 0.2 * start
