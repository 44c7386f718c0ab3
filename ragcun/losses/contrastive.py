"""InfoNCE over in-batch positives and mined hard negatives.

InfoNCE: van den Oord, Li & Vinyals, "Representation Learning with Contrastive Predictive Coding", 2018,
arXiv:1807.03748. The in-batch candidate set is that of sentence-transformers' MultipleNegativesRankingLoss,
which cites Henderson et al., "Efficient Natural Language Response Suggestion for Smart Reply", 2017,
arXiv:1705.00652.

Convention (MultipleNegativesRankingLoss): query i of a batch of B is scored against
B + B*N candidates, namely every positive of the batch and every mined negative of the batch, and its label
is its own positive (candidate i). With score s and temperature tau:

    loss = mean_i [ -s(q_i, p_i)/tau + log sum_c exp(s(q_i, c)/tau) ]
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from ragcun.errors import ConfigError
from ragcun.scoring import ScoreFunction, pairwise_scores


def contrastive_logits(
    queries: Tensor,
    positives: Tensor,
    negatives: Tensor | None,
    *,
    temperature: float,
    score: ScoreFunction,
) -> Tensor:
    """Logits [B, B + B*N]: columns 0..B-1 are the in-batch positives, then the flattened negatives.

    The target column of row i is i.
    """
    if not temperature > 0:
        raise ConfigError(f"temperature must be > 0, got {temperature}")
    if queries.dim() != 2 or positives.shape != queries.shape:
        raise ValueError(
            f"queries and positives must both be [B, D], got {tuple(queries.shape)} and {tuple(positives.shape)}"
        )
    candidates = positives
    if negatives is not None:
        if negatives.dim() != 3 or negatives.shape[::2] != queries.shape:
            raise ValueError(f"negatives must be [B, N, D] with B, D of the queries, got {tuple(negatives.shape)}")
        candidates = torch.cat([positives, negatives.reshape(-1, negatives.shape[-1])], dim=0)
    return pairwise_scores(queries, candidates, score) / temperature


def info_nce(
    queries: Tensor,
    positives: Tensor,
    negatives: Tensor | None,
    *,
    temperature: float,
    score: ScoreFunction,
) -> Tensor:
    """Mean InfoNCE loss of a batch (see the module docstring for the candidate set)."""
    return info_nce_from_logits(
        contrastive_logits(queries, positives, negatives, temperature=temperature, score=score)
    )


def info_nce_from_logits(logits: Tensor) -> Tensor:
    """Cross-entropy of ``contrastive_logits`` with row i's target in column i."""
    return F.cross_entropy(logits, torch.arange(logits.shape[0], device=logits.device))


@torch.no_grad()
def accuracy_at_1(logits: Tensor) -> Tensor:
    """Fraction of rows of ``contrastive_logits`` whose highest-scoring candidate is their own positive.

    For logging only. A tie with an earlier column counts as a miss (argmax returns the first maximum).
    """
    target = torch.arange(logits.shape[0], device=logits.device)
    return (logits.argmax(dim=1) == target).float().mean()
