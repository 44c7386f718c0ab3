"""Isotropy measures: near-ideal on an isotropic Gaussian, far on stretched / shifted samples, exact on
closed-form cases, and IsoScore equal to the authors' package."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import ortho_group

import ragcun.isotropy as isotropy
from ragcun.errors import ConfigError, DataError
from ragcun.isotropy import (
    effective_rank,
    eigen_ratio,
    eigen_score,
    eigenvalue_spectrum,
    isoscore,
    mean_cosine,
    measure_isotropy,
    partition_isotropy,
    sample_vectors,
)

D = 16
N = 20_000
GAMMA = D / N  # Marchenko-Pastur ratio: sample eigenvalues of N(0, I) spread about 1 with std ~ sqrt(GAMMA)


@pytest.fixture(scope="module")
def gaussian() -> np.ndarray:
    return np.random.default_rng(0).normal(size=(N, D))


def with_exact_covariance(eigenvalues: np.ndarray, n: int, seed: int) -> np.ndarray:
    """n centred rows whose sample covariance is exactly diag(eigenvalues) (whitened, then scaled)."""
    z = np.random.default_rng(seed).normal(size=(n, eigenvalues.size))
    z -= z.mean(axis=0)
    z = z @ np.linalg.inv(np.linalg.cholesky(np.cov(z, rowvar=False))).T
    return z * np.sqrt(eigenvalues)


def test_isotropic_gaussian_is_near_ideal(gaussian):
    spectrum = eigenvalue_spectrum(gaussian)
    assert eigen_score(spectrum) > 1 - 3 * np.sqrt(GAMMA)
    edge_ratio = ((1 - np.sqrt(GAMMA)) / (1 + np.sqrt(GAMMA))) ** 2  # MP bulk edges
    assert eigen_ratio(spectrum) > edge_ratio - 0.1
    assert partition_isotropy(gaussian) > 0.8
    assert abs(mean_cosine(gaussian)) < 1e-3
    assert isoscore(spectrum) > 0.99
    assert effective_rank(gaussian) > 0.99 * D


def test_stretched_sample_is_far_from_ideal(gaussian):
    stretched = gaussian.copy()
    stretched[:, 0] *= 10.0  # covariance ~ diag(100, 1, ..., 1)
    spectrum = eigenvalue_spectrum(stretched)
    expected = np.array([100.0] + [1.0] * (D - 1))
    assert eigen_score(spectrum) == pytest.approx(1 - expected.std() / expected.mean(), abs=0.05)
    assert eigen_ratio(spectrum) < 0.02
    assert partition_isotropy(stretched) < 1e-10
    assert isoscore(spectrum) < 0.05
    sqrt_eigs = np.sqrt(expected) / np.sqrt(expected).sum()
    assert effective_rank(stretched) == pytest.approx(np.exp(-(sqrt_eigs * np.log(sqrt_eigs)).sum()), rel=0.02)


def test_shifted_sample_has_high_mean_cosine(gaussian):
    # A common direction (the anisotropy Ethayarajh measures): |mu| = 3 against unit noise in 16 dimensions
    # gives cos ~ |mu|^2 / (|mu|^2 + D) = 9 / 25 between typical vectors.
    shifted = gaussian + np.full(D, 3.0 / np.sqrt(D))
    assert mean_cosine(shifted) == pytest.approx(9 / 25, abs=0.03)
    assert partition_isotropy(shifted) < 0.01


def test_vectors_on_one_line():
    rng = np.random.default_rng(1)
    t = rng.normal(size=500)
    direction = rng.normal(size=D)
    direction /= np.linalg.norm(direction)
    x = t[:, None] * direction
    spectrum = eigenvalue_spectrum(x)
    assert effective_rank(x) == pytest.approx(1.0, abs=1e-5)
    assert isoscore(spectrum) == pytest.approx(0.0, abs=1e-9)
    assert eigen_ratio(spectrum) == pytest.approx(0.0, abs=1e-12)
    # one eigenvalue lambda, D - 1 zeros: mean lambda / D, std lambda sqrt(D - 1) / D
    assert eigen_score(spectrum) == pytest.approx(1 - np.sqrt(D - 1), rel=1e-9)
    # cos(x_i, x_j) = sign(t_i) sign(t_j); with n+ positive and n- negative: sum over i != j = (n+ - n-)^2 - N
    positive, negative = int((t > 0).sum()), int((t < 0).sum())
    assert mean_cosine(x) == pytest.approx(((positive - negative) ** 2 - 500) / (500 * 499), abs=1e-12)
    # Z(c) = N for c orthogonal to the line, sum exp(+-t_i) along it
    z_values = [500.0, np.exp(t).sum(), np.exp(-t).sum()]
    assert partition_isotropy(x) == pytest.approx(min(z_values) / max(z_values), rel=1e-9)


def test_known_diagonal_covariance():
    eigenvalues = np.array([5.0, 3.0, 2.0, 1.0, 0.5, 0.25])
    x = with_exact_covariance(eigenvalues, 400, seed=2)
    spectrum = eigenvalue_spectrum(x)
    np.testing.assert_allclose(spectrum, eigenvalues, rtol=1e-10)
    assert eigen_score(spectrum) == pytest.approx(1 - np.std(eigenvalues) / np.mean(eigenvalues), rel=1e-10)
    assert eigen_ratio(spectrum) == pytest.approx(0.25 / 5.0, rel=1e-10)
    # IsoScore written out for n = 6: normalise to norm sqrt(6), defect, fraction used, rescale
    n = 6
    normalised = np.sqrt(n) * eigenvalues / np.sqrt((eigenvalues**2).sum())
    defect = np.sqrt(((normalised - 1) ** 2).sum()) / np.sqrt(2 * (n - np.sqrt(n)))
    fraction = (n - defect**2 * (n - np.sqrt(n))) ** 2 / n**2
    assert isoscore(spectrum) == pytest.approx((n * fraction - 1) / (n - 1), rel=1e-10)
    # x is centred with orthogonal columns: singular values sqrt((N - 1) lambda_j)
    p = np.sqrt(eigenvalues) / np.sqrt(eigenvalues).sum()
    assert effective_rank(x) == pytest.approx(np.exp(-(p * np.log(p)).sum()), rel=1e-10)


def test_partition_function_closed_form_and_rotation_invariance():
    # Rows +a_j e_j and -a_j e_j: W^T W = diag(2 a_j^2) (distinct), so the eigenvectors are +-e_j and
    # Z(+-e_j) = e^{a_j} + e^{-a_j} + (2D - 2) e^0.
    a = np.array([0.3, 0.7, 1.1, 1.9, 2.4])
    d = a.size
    w = np.concatenate([np.diag(a), -np.diag(a)])
    z = 2 * np.cosh(a) + 2 * d - 2
    assert partition_isotropy(w) == pytest.approx(z.min() / z.max(), rel=1e-10)
    rotation = ortho_group.rvs(d, random_state=3)
    assert partition_isotropy(w @ rotation) == pytest.approx(z.min() / z.max(), rel=1e-9)


def test_measures_are_rotation_invariant(gaussian):
    x = gaussian[:2000] * np.linspace(0.5, 3.0, D) + 0.4
    rotated = x @ ortho_group.rvs(D, random_state=4)
    for name in ("eigen_score", "eigen_ratio", "isoscore"):
        measure = getattr(isotropy, name)
        assert measure(eigenvalue_spectrum(rotated)) == pytest.approx(measure(eigenvalue_spectrum(x)), rel=1e-8)
    for measure in (partition_isotropy, mean_cosine, effective_rank):
        assert measure(rotated) == pytest.approx(measure(x), rel=1e-8)


def test_isoscore_matches_the_authors_package(gaussian):
    package = pytest.importorskip("IsoScore.IsoScore")
    for scale in (np.ones(D), np.linspace(0.1, 4.0, D), np.r_[10.0, np.ones(D - 1)]):
        x = gaussian[:3000] * scale
        # 1e-6: the package takes sqrt(n) of an integer tensor, i.e. in float32
        assert isoscore(eigenvalue_spectrum(x)) == pytest.approx(float(package.IsoScore(x)), abs=1e-6)


def test_mean_cosine_matches_all_pairs_and_blocks(monkeypatch):
    x = np.random.default_rng(5).normal(size=(50, 4)) + 0.5
    unit = x / np.linalg.norm(x, axis=1, keepdims=True)
    cosines = unit @ unit.T
    all_pairs = (cosines.sum() - np.trace(cosines)) / (50 * 49)
    assert mean_cosine(x) == pytest.approx(all_pairs, rel=1e-12)
    whole_partition = partition_isotropy(x)
    monkeypatch.setattr(isotropy, "_BLOCK_ROWS", 7)  # blocks not dividing N
    assert mean_cosine(x) == pytest.approx(all_pairs, rel=1e-12)
    assert partition_isotropy(x) == pytest.approx(whole_partition, rel=1e-12)


def test_measure_isotropy_returns_every_measure_as_float(gaussian):
    stretched = gaussian[:3000].copy()
    stretched[:, 0] *= 10.0
    ideal = measure_isotropy(gaussian[:3000].astype(np.float32), seed=0, sigreg_directions=64)
    assert set(ideal) == {"eigen_score", "eigen_ratio", "partition_isotropy", "mean_cosine", "isoscore",
                          "effective_rank", "sigreg", "sigreg_uncentred"}
    assert all(type(value) is float and np.isfinite(value) for value in ideal.values())
    assert ideal["isoscore"] == pytest.approx(isoscore(eigenvalue_spectrum(gaussian[:3000])), rel=1e-5)
    far = measure_isotropy(stretched, seed=0, sigreg_directions=64)
    assert far["sigreg"] > 100 * ideal["sigreg"]
    assert measure_isotropy(stretched, seed=0, sigreg_directions=64) == far  # deterministic for a seed
    shifted = measure_isotropy(gaussian[:3000] + 0.5, seed=0, sigreg_directions=64)
    assert shifted["sigreg"] == pytest.approx(ideal["sigreg"], rel=1e-3), "centred: location does not count"
    assert shifted["sigreg_uncentred"] > 10 * ideal["sigreg_uncentred"], "uncentred: it does"


def test_sample_vectors():
    x = np.arange(200.0).reshape(100, 2)
    sample = sample_vectors(x, 30, seed=7)
    assert sample.shape == (30, 2)
    rows = sample[:, 0] / 2
    assert len(set(rows)) == 30 and np.all(np.diff(rows) > 0)  # distinct rows of x, in order
    np.testing.assert_array_equal(sample[:, 1], sample[:, 0] + 1)
    np.testing.assert_array_equal(sample_vectors(x, 30, seed=7), sample)
    assert not np.array_equal(sample_vectors(x, 30, seed=8), sample)
    np.testing.assert_array_equal(sample_vectors(x, 100, seed=7), x)
    with pytest.raises(ConfigError, match="max_vectors must be at least 2"):
        sample_vectors(x, 1, seed=7)


def test_bad_input_raises():
    with pytest.raises(DataError, match="at least 2 vectors"):
        measure_isotropy(np.ones(5), seed=0)
    with pytest.raises(DataError, match="NaN"):
        effective_rank(np.array([[1.0, np.nan], [0.0, 1.0]]))
    with pytest.raises(DataError, match="row 1 is a zero vector"):
        mean_cosine(np.array([[1.0, 0.0], [0.0, 0.0], [0.0, 1.0]]))
    with pytest.raises(DataError, match="covariance is zero"):
        eigen_score(eigenvalue_spectrum(np.ones((4, 3))))


def test_spectra_round_trip_through_the_plots_tsv(tmp_path):
    spectra = {"documents": np.array([3.5, 1.0 / 3.0, 0.0]), "queries": np.array([2.0, 1e-12, 0.0])}
    path = tmp_path / "spectra" / "iso.tsv"
    isotropy.write_spectra(path, spectra)
    lines = path.read_text().splitlines()
    assert lines[0] == "rank\tdocuments\tqueries" and lines[1].startswith("1\t3.5\t2.0")
    back = isotropy.read_spectra(path)
    assert list(back) == ["documents", "queries"]
    for name in spectra:
        assert np.array_equal(back[name], spectra[name]), "floats are written exactly"


def test_spectra_tsv_errors_name_the_file_and_line(tmp_path):
    with pytest.raises(DataError, match="different lengths"):
        isotropy.write_spectra(tmp_path / "a.tsv", {"documents": np.ones(3), "queries": np.ones(2)})
    assert not (tmp_path / "a.tsv").exists()
    with pytest.raises(DataError, match="no eigenvalue spectra"):
        isotropy.read_spectra(tmp_path / "missing.tsv")
    bad = tmp_path / "bad.tsv"
    bad.write_text("rank\tdocuments\n1\t2.0\n2\tabc\n")
    with pytest.raises(DataError, match=r"bad.tsv:3: could not convert"):
        isotropy.read_spectra(bad)
    bad.write_text("eigen\tdocuments\n")
    with pytest.raises(DataError, match=r"bad.tsv:1: expected a header .*got 'eigen\\tdocuments'"):
        isotropy.read_spectra(bad)
    bad.write_text("")
    with pytest.raises(DataError, match=r"bad.tsv:1: expected a header .*got an empty file"):
        isotropy.read_spectra(bad)
    bad.write_text("rank\tqueries\n1\t2.0\n")
    with pytest.raises(DataError, match=r"bad.tsv:1: no 'documents' column"):
        isotropy.read_spectra(bad, require=("documents",))
