"""Covariance-based isotropy losses on a set of embeddings z [N, D] (N samples, D dimensions).

C denotes the sample covariance of z (centred, unbiased: divided by N - 1), as ``torch.cov`` computes it.

No paper defines these three: ``covariance`` is the formula of the research notes this project reproduces,
``identity`` their "N(0, 1)" formulation, and ``shape`` the loss form of the notes' isotropy score
1 - std(lambda)/mean(lambda) over C's eigenvalues lambda.

- ``covariance``: ||C - sigma^2 I||_F / D with sigma^2 = trace(C) / D, the notes' formula. It measures the
  shape of C only, and since it is homogeneous of degree 2 in z it is minimised by shrinking z towards 0:
  pair it with ``lambda_reg`` or use another kind.
- ``identity``: ||C - I||_F / D, the "N(0, I)" formulation; shrinking moves C away from I, so it is not
  rewarded.
- ``shape``: ||C / sigma^2 - I||_F / sqrt(D) = std(eigenvalues) / mean(eigenvalues) of C, the scale-free form
  of ``covariance`` (which equals sigma^2 / sqrt(D) times it) and exactly 1 - the notes' isotropy score
  1 - std(lambda)/mean(lambda) of the batch: the loss moves the measure it is named after. It ignores
  scale entirely (pair it with ``lambda_reg``), and being O(1) it acts at lambdas of order 1, where the
  1/D-normalised ``covariance`` and ``identity`` need lambdas of order D to matter.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import Tensor

from ragcun.losses.numerics import check_samples, full_precision


def covariance(z: Tensor) -> Tensor:
    """Sample covariance [D, D] of z [N, D] (centred, divided by N - 1)."""
    check_samples(z, 2)
    return torch.cov(z.T)


@contextmanager
def _covariance_terms(z: Tensor) -> Iterator[tuple[Tensor, Tensor, Tensor, int]]:
    """C, sigma^2 = trace(C) / D, I and D of z, computed and used in full precision (autocast stays off)."""
    with full_precision(z) as x:
        c = covariance(x)
        dim = c.shape[0]
        yield c, torch.diagonal(c).mean(), torch.eye(dim, dtype=c.dtype, device=c.device), dim


def covariance_isotropy(z: Tensor) -> Tensor:
    """||C - sigma^2 I||_F / D with sigma^2 = trace(C) / D. Minimised by shrinking z (see module docstring)."""
    with _covariance_terms(z) as (c, sigma2, eye, dim):
        return torch.linalg.matrix_norm(c - sigma2 * eye) / dim


def identity_isotropy(z: Tensor) -> Tensor:
    """||C - I||_F / D: zero exactly when the sample covariance is the identity."""
    with _covariance_terms(z) as (c, _, eye, dim):
        return torch.linalg.matrix_norm(c - eye) / dim


def shape_isotropy(z: Tensor) -> Tensor:
    """||C / sigma^2 - I||_F / sqrt(D) with sigma^2 = trace(C) / D: std over mean of C's eigenvalues."""
    with _covariance_terms(z) as (c, sigma2, eye, dim):
        return torch.linalg.matrix_norm(c / sigma2 - eye) / dim**0.5
