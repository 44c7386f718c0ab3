"""Isotropy measures of a set of embeddings x [N, D] (rows are vectors), measured by the evaluate@ARCH stage on its retrieval vectors.

Centring, per measure (each follows its source):

- ``eigen_score``, ``eigen_ratio``, ``isoscore``: eigenvalues of the sample covariance (centred, divided by
  N - 1, as ``np.cov``). Scale-invariant.
- ``partition_isotropy``: raw vectors, not centred, as Mu & Viswanath (2018) apply it to W before and after
  their post-processing (which is what removes the mean). Depends on the scale of x.
- ``mean_cosine``: raw vectors (cosine is about directions from the origin).
- ``effective_rank``: singular values of the raw matrix x, as Roy & Vetterli (2007) define it for a matrix.
- ``sigreg``: centred vectors against N(0, I) (scale and shape matter, location does not), see
  ``ragcun.losses.sigreg``. Centred like the covariance-based measures because a zero-shot corpus sits
  away from the training distribution's mean: on the embedded default, the uncentred statistic of a trained
  head's documents is ~3x the centred one, almost all of it that offset, the same for every head.
- ``sigreg_uncentred``: raw vectors against N(0, I) (location too), the statistic as the loss sees a batch.

Every computation runs in float64 and none forms an N x N matrix; x itself is held in memory (the covariance
and the SVD need an N x D float64 copy), so subsample a large corpus with ``sample_vectors`` first.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path

import numpy as np
import scipy.special

from ragcun.errors import ConfigError, DataError
from ragcun.io import atomic_path

# Rows converted to float64 at a time by the streaming measures (mean cosine, partition function).
_BLOCK_ROWS = 1 << 16


def measure_isotropy(x: np.ndarray, *, seed: int, sigreg_directions: int = 256) -> dict[str, float]:
    """Every isotropy measure of x [N, D] as a flat dict of floats (JSON-able).

    Keys: ``eigen_score``, ``eigen_ratio``, ``partition_isotropy``, ``mean_cosine``, ``isoscore``,
    ``effective_rank``, ``sigreg``, ``sigreg_uncentred``. ``seed`` fixes SIGReg's random directions (the only
    random part)."""
    x = _checked(x)
    eigenvalues = eigenvalue_spectrum(x)
    from ragcun.losses.sigreg import sigreg_statistic  # lazy: pulls in torch only when measured

    return {
        "eigen_score": eigen_score(eigenvalues),
        "eigen_ratio": eigen_ratio(eigenvalues),
        "partition_isotropy": partition_isotropy(x),
        "mean_cosine": mean_cosine(x),
        "isoscore": isoscore(eigenvalues),
        "effective_rank": effective_rank(x),
        "sigreg": float(sigreg_statistic(x - x.mean(axis=0, dtype=np.float64), sigreg_directions, seed)),
        "sigreg_uncentred": float(sigreg_statistic(x, sigreg_directions, seed)),
    }


def sample_vectors(x: np.ndarray, max_vectors: int, seed: int) -> np.ndarray:
    """At most ``max_vectors`` rows of x, drawn without replacement with ``seed`` (all rows if N is smaller).

    The chosen rows keep their original order (sequential reads from a memmap).
    """
    if max_vectors < 2:
        raise ConfigError(f"sample_vectors: max_vectors must be at least 2, got {max_vectors}")
    if x.shape[0] <= max_vectors:
        return np.asarray(x)
    rows = np.sort(np.random.default_rng(seed).choice(x.shape[0], size=max_vectors, replace=False))
    return np.asarray(x[rows])


def eigenvalue_spectrum(x: np.ndarray) -> np.ndarray:
    """Eigenvalues of the sample covariance of x, sorted descending (float64; round-off negatives -> 0)."""
    x = _checked(x)
    covariance = np.atleast_2d(np.cov(x, rowvar=False))
    # A covariance is positive semi-definite: tiny negative eigenvalues are round-off of zero ones.
    return np.clip(np.linalg.eigvalsh(covariance)[::-1], 0.0, None)


def write_spectra(path: str | Path, spectra: Mapping[str, np.ndarray]) -> None:
    """Write equally long spectra as a TSV with a ``rank`` column (1-based) and one column per name.

    The layout DVC plots read (``x: rank``), and small enough to track in git for ``dvc plots diff``.
    """
    if not spectra:
        raise DataError(f"{path}: no spectra to write")
    lengths = {name: len(values) for name, values in spectra.items()}
    if len(set(lengths.values())) != 1:
        raise DataError(f"{path}: spectra of different lengths {lengths}")
    columns = [np.asarray(values, dtype=np.float64) for values in spectra.values()]
    lines = ["\t".join(["rank", *spectra])]
    lines += ["\t".join([str(row + 1)] + [repr(float(column[row])) for column in columns]) for row in range(len(columns[0]))]
    with atomic_path(path) as staging:
        staging.write_text("\n".join(lines) + "\n", encoding="utf-8")


def read_spectra(path: str | Path, require: tuple[str, ...] = ()) -> dict[str, np.ndarray]:
    """Read ``write_spectra``'s TSV back: {column name: eigenvalues in rank order}; ``require`` names columns
    that must be there."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no eigenvalue spectra (run `dvc repro` to measure them)")
    rows = path.read_text(encoding="utf-8").splitlines()
    header = rows[0].split("\t") if rows else []
    if len(header) < 2 or header[0] != "rank":
        found = repr(rows[0]) if rows else "an empty file"
        raise DataError(f"{path}:1: expected a header 'rank<TAB>name...', got {found}")
    values = []
    for number, row in enumerate(rows[1:], start=2):
        fields = row.split("\t")
        try:
            if len(fields) != len(header):
                raise ValueError(f"{len(fields)} fields, expected {len(header)}")
            values.append([float(field) for field in fields[1:]])
        except ValueError as error:
            raise DataError(f"{path}:{number}: {error}") from None
    missing = [name for name in require if name not in header[1:]]
    if missing:
        raise DataError(f"{path}:1: no {', '.join(repr(name) for name in missing)} column (has {header[1:]})")
    table = np.array(values, dtype=np.float64).reshape(len(values), len(header) - 1)
    return {name: table[:, column] for column, name in enumerate(header[1:])}


def eigen_score(eigenvalues: np.ndarray) -> float:
    """The notes' score 1 - std(lambda) / mean(lambda) (population std): 1 when all eigenvalues are equal.

    Not bounded below by 0: a single non-zero eigenvalue gives 1 - sqrt(D - 1).
    """
    eigenvalues = _checked_spectrum(eigenvalues)
    return float(1.0 - eigenvalues.std() / eigenvalues.mean())


def eigen_ratio(eigenvalues: np.ndarray) -> float:
    """lambda_min / lambda_max of the covariance: 1 for isotropic, 0 for a rank-deficient covariance."""
    eigenvalues = _checked_spectrum(eigenvalues)
    return float(eigenvalues.min() / eigenvalues.max())


def partition_isotropy(x: np.ndarray) -> float:
    """Mu & Viswanath (2018) I(W) = min_c Z(c) / max_c Z(c), Z(c) = sum_i exp(c^T w_i).

    The paper approximates the min/max over unit vectors c by the eigenvectors of W^T W (W not centred).
    An eigenvector's sign is arbitrary and Z(c) != Z(-c) in general, so both signs are used: the value does
    not depend on the eigensolver's sign choice and stays invariant under rotations of x. Z is compared in
    log space (logsumexp) because exp(c^T w) overflows float64 for vectors of norm above ~700.
    """
    x = _checked(x)
    gram = sum(block.T @ block for block in _row_blocks(x))
    _, eigenvectors = np.linalg.eigh(gram)
    directions = np.concatenate([eigenvectors, -eigenvectors], axis=1)  # [D, 2D]: every c and -c
    # log Z(c) per block, then combined across blocks: log Z = logsumexp over blocks of the block values.
    block_log_z = [scipy.special.logsumexp(block @ directions, axis=0) for block in _row_blocks(x)]
    log_z = scipy.special.logsumexp(np.stack(block_log_z), axis=0)
    return float(np.exp(log_z.min() - log_z.max()))


def mean_cosine(x: np.ndarray) -> float:
    """Mean cosine similarity over all pairs of distinct rows (Ethayarajh 2019's anisotropy baseline).

    With unit vectors u_i and s = sum_i u_i: sum_{i != j} u_i.u_j = |s|^2 - N, so the mean over the
    N(N-1) ordered pairs is (|s|^2 - N) / (N(N-1)), in O(N D) time and O(D) extra memory.
    """
    x = _checked(x)
    total = np.zeros(x.shape[1])
    for start, block in enumerate(_row_blocks(x)):
        norms = np.linalg.norm(block, axis=1)
        if np.any(norms == 0):
            row = start * _BLOCK_ROWS + int(np.flatnonzero(norms == 0)[0])
            raise DataError(f"mean_cosine: row {row} is a zero vector (cosine undefined)")
        total += (block / norms[:, None]).sum(axis=0)
    n = x.shape[0]
    return float((total @ total - n) / (n * (n - 1)))


def isoscore(eigenvalues: np.ndarray) -> float:
    """IsoScore (Rudman et al. 2022) from the covariance eigenvalues, in [0, 1].

    The published steps: (1) reorient x by PCA; (2) the variance vector of the reoriented points is the
    covariance eigenvalues Sigma; (3) normalise it to norm sqrt(n): S = sqrt(n) Sigma / |Sigma|;
    (4) isotropy defect delta = |S - 1| / sqrt(2 (n - sqrt(n))), in [0, 1]; (5) fraction of dimensions used
    phi = (n - delta^2 (n - sqrt(n)))^2 / n^2, in [1/n, 1]; (6) IsoScore = (n phi - 1) / (n - 1).
    n is the dimension D. Same as the ``IsoScore`` package's ``IsoScore(points)`` (checked in tests).
    """
    variances = _checked_spectrum(eigenvalues)
    n = variances.size
    normalised = np.sqrt(n) * variances / np.linalg.norm(variances)
    defect = np.linalg.norm(normalised - 1.0) / np.sqrt(2.0 * (n - np.sqrt(n)))
    used_fraction = (n - defect**2 * (n - np.sqrt(n))) ** 2 / n**2
    return float((n * used_fraction - 1.0) / (n - 1.0))


def effective_rank(x: np.ndarray) -> float:
    """Roy & Vetterli (2007): exp of the Shannon entropy (nats) of the L1-normalised singular values of x."""
    singular_values = np.linalg.svd(_checked(x).astype(np.float64), compute_uv=False)
    distribution = singular_values / singular_values.sum()
    # entr(p) = -p log p with entr(0) = 0 (scipy.special, not scipy.stats: the latter costs ~0.5 s to import)
    return float(np.exp(scipy.special.entr(distribution).sum()))


def _row_blocks(x: np.ndarray) -> Iterator[np.ndarray]:
    for start in range(0, x.shape[0], _BLOCK_ROWS):
        yield np.asarray(x[start : start + _BLOCK_ROWS], dtype=np.float64)


def _checked_spectrum(eigenvalues: np.ndarray) -> np.ndarray:
    eigenvalues = np.asarray(eigenvalues, dtype=np.float64)
    if eigenvalues.ndim != 1 or eigenvalues.size < 2 or not np.all(eigenvalues >= 0):
        raise DataError("isotropy measures need at least 2 non-negative covariance eigenvalues")
    if eigenvalues.max() == 0:
        raise DataError("isotropy measures: the covariance is zero (every embedding is the same vector)")
    return eigenvalues


def _checked(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x)
    if x.ndim != 2 or x.shape[0] < 2 or x.shape[1] < 2:
        raise DataError(f"isotropy measures need at least 2 vectors of dimension >= 2, got shape {x.shape}")
    if not np.issubdtype(x.dtype, np.floating):
        raise DataError(f"isotropy measures need floating-point embeddings, got dtype {x.dtype}")
    if not np.isfinite(x).all():
        raise DataError("isotropy measures: the embeddings contain NaN or infinite values")
    if not np.any(x):
        raise DataError("isotropy measures: every embedding is the zero vector")
    return x
