"""Similarity functions shared by training, search and evaluation (higher = more similar).

- ``cosine``: cosine similarity of the two vectors.
- ``dot``: inner product.
- ``euclidean``: the NEGATIVE Euclidean distance, so that "higher is better" holds for every kind and one
  top-k / cross-entropy code path serves all three. Its gradient at distance 0 is taken as 0 (the
  subgradient), never NaN: identical query/document vectors occur (duplicated texts, collapsed heads).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

# `kind` is validated once, by the params schema (ragcun.config); a name outside the Literal is a programming
# error and fails the `kind in` dispatch below with a ValueError.
from ragcun.config import SCORE_FUNCTIONS, ScoreFunction


def _known(kind: str) -> None:
    if kind not in SCORE_FUNCTIONS:
        raise ValueError(f"score function {kind!r} is not one of config.ScoreFunction {SCORE_FUNCTIONS}")


def pairwise_scores(a: Tensor, b: Tensor, kind: ScoreFunction) -> Tensor:
    """Scores of every row of ``a`` [n, d] against every row of ``b`` [m, d] -> [n, m]."""
    _known(kind)
    if a.dim() != 2 or b.dim() != 2 or a.shape[-1] != b.shape[-1]:
        raise ValueError(
            f"pairwise_scores needs [n, d] and [m, d] tensors, got {tuple(a.shape)} and {tuple(b.shape)}"
        )
    if kind == "dot":
        return a @ b.T
    if kind == "cosine":
        return F.normalize(a, dim=-1) @ F.normalize(b, dim=-1).T
    # torch.cdist's backward defines the gradient at distance 0 as 0 (checked in tests), unlike sqrt(||a-b||^2).
    return -torch.cdist(a, b)


def paired_scores(a: Tensor, b: Tensor, kind: ScoreFunction) -> Tensor:
    """Row-wise scores: ``a`` [n, d] with ``b`` [n, d] -> [n], or with ``b`` [n, k, d] -> [n, k]."""
    _known(kind)
    if a.dim() != 2 or b.dim() not in (2, 3) or b.shape[0] != a.shape[0] or b.shape[-1] != a.shape[-1]:
        raise ValueError(
            f"paired_scores needs [n, d] and [n, (k,) d] tensors, got {tuple(a.shape)} and {tuple(b.shape)}"
        )
    if b.dim() == 3:
        a = a.unsqueeze(1)
    if kind == "dot":
        return (a * b).sum(-1)
    if kind == "cosine":
        return (F.normalize(a, dim=-1) * F.normalize(b, dim=-1)).sum(-1)
    # vector_norm's backward masks the zero vector (gradient 0 there), so identical rows are safe.
    return -torch.linalg.vector_norm(a - b, dim=-1)
