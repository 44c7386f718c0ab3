"""InfoNCE: hand-computed values, sentence-transformers' MultipleNegativesRankingLoss, gradients."""

import math

import pytest
import torch
from sentence_transformers import util
from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss

from ragcun.errors import ConfigError
from ragcun.losses.contrastive import accuracy_at_1, contrastive_logits, info_nce
from ragcun.scoring import SCORE_FUNCTIONS

ST_SIMILARITY = {"cosine": util.cos_sim, "dot": util.dot_score, "euclidean": util.euclidean_sim}


def _batch(b: int = 3, n: int = 2, d: int = 4, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    return tuple(torch.randn(*shape, generator=g, dtype=torch.float64) for shape in ((b, d), (b, d), (b, n, d)))


def test_hand_computed_dot_value():
    q = torch.tensor([[1.0, 0.0], [0.0, 2.0]])
    p = torch.tensor([[1.0, 1.0], [0.0, 1.0]])
    neg = torch.tensor([[[2.0, 0.0]], [[1.0, 1.0]]])
    tau = 0.5
    # Candidates of every query: p0, p1, n0, n1. Dot scores, row by row:
    #   q0 = (1, 0): 1, 0, 2, 1      label 0
    #   q1 = (0, 2): 2, 2, 0, 2      label 1
    rows = [([1, 0, 2, 1], 0), ([2, 2, 0, 2], 1)]
    expected = sum(-s[i] / tau + math.log(sum(math.exp(v / tau) for v in s)) for s, i in rows) / 2
    loss = info_nce(q, p, neg, temperature=tau, score="dot")
    assert loss.item() == pytest.approx(expected, rel=1e-6)


def test_hand_computed_euclidean_value_without_negatives():
    q = torch.tensor([[0.0, 0.0], [3.0, 0.0]])
    p = torch.tensor([[0.0, 4.0], [3.0, 0.0]])
    # -distances: q0 -> (p0, p1) = (-4, -3); q1 -> (-5, 0).
    expected = ((4 + math.log(math.exp(-4) + math.exp(-3))) + (0 + math.log(math.exp(-5) + 1))) / 2
    assert info_nce(q, p, None, temperature=1.0, score="euclidean").item() == pytest.approx(expected, rel=1e-6)


@pytest.mark.parametrize("kind", SCORE_FUNCTIONS)
def test_matches_multiple_negatives_ranking_loss(kind):
    q, p, neg = _batch(b=4, n=3)
    tau = 0.05
    reference = MultipleNegativesRankingLoss(torch.nn.Identity(), scale=1 / tau, similarity_fct=ST_SIMILARITY[kind])
    # sentence-transformers takes one tensor per negative column: (anchor, positive, negative_1, ..., negative_N).
    columns = [q, p] + [neg[:, j] for j in range(neg.shape[1])]
    expected = reference.compute_loss_from_embeddings(columns, None)
    torch.testing.assert_close(info_nce(q, p, neg, temperature=tau, score=kind), expected)


def test_dot_gradient_matches_hand_derivation():
    # dL/dq_i = (sum_c softmax(s_i/tau)_c * c - p_i) / (B * tau) for the dot score.
    q, p, neg = _batch()
    q.requires_grad_(True)
    tau = 0.3
    info_nce(q, p, neg, temperature=tau, score="dot").backward()
    candidates = torch.cat([p, neg.reshape(-1, p.shape[1])])
    weights = torch.softmax(q.detach() @ candidates.T / tau, dim=1)
    expected = (weights @ candidates - p) / (q.shape[0] * tau)
    torch.testing.assert_close(q.grad, expected)


@pytest.mark.parametrize("kind", SCORE_FUNCTIONS)
def test_gradcheck_all_inputs(kind):
    q, p, neg = (t.requires_grad_(True) for t in _batch(b=2, n=2, d=3))
    assert torch.autograd.gradcheck(lambda a, b, c: info_nce(a, b, c, temperature=0.7, score=kind), (q, p, neg))


def test_negatives_none_equals_zero_negatives():
    q, p, _ = _batch()
    empty = torch.empty(q.shape[0], 0, q.shape[1], dtype=q.dtype)
    torch.testing.assert_close(
        info_nce(q, p, None, temperature=0.1, score="cosine"), info_nce(q, p, empty, temperature=0.1, score="cosine")
    )


def test_every_query_sees_every_negative_of_the_batch():
    q, p, neg = _batch(b=3, n=2)
    logits = contrastive_logits(q, p, neg, temperature=1.0, score="dot")
    assert logits.shape == (3, 3 + 6)
    # Column 3 + 2*1 + 1 is the second negative of query 1; query 0 is scored against it too.
    assert logits[0, 3 + 2 * 1 + 1].item() == pytest.approx(float(q[0] @ neg[1, 1]))


def test_accuracy_at_1():
    logits = torch.tensor([[5.0, 1.0, 0.0], [4.0, 2.0, 3.0]])
    assert accuracy_at_1(logits).item() == pytest.approx(0.5)


def test_bad_temperature_and_shapes():
    q, p, neg = _batch()
    with pytest.raises(ConfigError, match="temperature"):
        info_nce(q, p, neg, temperature=0.0, score="dot")
    with pytest.raises(ValueError, match="negatives"):
        info_nce(q, p, neg[:2], temperature=1.0, score="dot")
    with pytest.raises(ValueError, match="positives"):
        info_nce(q, p[:2], neg, temperature=1.0, score="dot")
