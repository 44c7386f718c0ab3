"""Score functions against scipy / sentence-transformers and their gradients."""

import numpy as np
import pytest
import torch
from scipy.spatial.distance import cdist
from sentence_transformers import util

from ragcun.scoring import SCORE_FUNCTIONS, paired_scores, pairwise_scores


@pytest.fixture
def ab() -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    return torch.randn(4, 5, generator=g, dtype=torch.float64), torch.randn(3, 5, generator=g, dtype=torch.float64)


def test_pairwise_matches_scipy(ab):
    a, b = ab
    an, bn = a.numpy(), b.numpy()
    np.testing.assert_allclose(pairwise_scores(a, b, "euclidean").numpy(), -cdist(an, bn), rtol=1e-12)
    np.testing.assert_allclose(pairwise_scores(a, b, "cosine").numpy(), 1 - cdist(an, bn, "cosine"), rtol=1e-12)
    expected_dot = [[sum(x * y for x, y in zip(row_a, row_b)) for row_b in bn] for row_a in an]
    np.testing.assert_allclose(pairwise_scores(a, b, "dot").numpy(), expected_dot, rtol=1e-12)


@pytest.mark.parametrize(
    ("kind", "reference"),
    [("cosine", util.cos_sim), ("dot", util.dot_score), ("euclidean", util.euclidean_sim)],
)
def test_pairwise_matches_sentence_transformers(ab, kind, reference):
    a, b = ab
    torch.testing.assert_close(pairwise_scores(a, b, kind), reference(a, b))


@pytest.mark.parametrize("kind", SCORE_FUNCTIONS)
def test_paired_is_the_diagonal_of_pairwise(ab, kind):
    a, _ = ab
    b = torch.randn_like(a)
    torch.testing.assert_close(paired_scores(a, b, kind), torch.diagonal(pairwise_scores(a, b, kind)))


@pytest.mark.parametrize("kind", SCORE_FUNCTIONS)
def test_paired_with_k_candidates_per_row(ab, kind):
    a, _ = ab
    b = torch.randn(a.shape[0], 3, a.shape[1], dtype=a.dtype)
    expected = torch.stack([pairwise_scores(a[i : i + 1], b[i], kind)[0] for i in range(a.shape[0])])
    torch.testing.assert_close(paired_scores(a, b, kind), expected)


@pytest.mark.parametrize("kind", SCORE_FUNCTIONS)
def test_gradients_match_finite_differences(ab, kind):
    a, b = (t.clone().requires_grad_(True) for t in ab)
    assert torch.autograd.gradcheck(lambda x, y: pairwise_scores(x, y, kind), (a, b))
    c = torch.randn_like(a, requires_grad=True)
    assert torch.autograd.gradcheck(lambda x, y: paired_scores(x, y, kind), (a, c))


def test_euclidean_gradient_at_zero_distance_is_zero_not_nan():
    a = torch.tensor([[1.0, 2.0], [3.0, -1.0]], requires_grad=True)
    same = a.detach().clone()
    pairwise_scores(a, same, "euclidean").diagonal().sum().backward()
    assert torch.equal(a.grad, torch.zeros_like(a))
    a.grad = None
    paired_scores(a, same, "euclidean").sum().backward()
    assert torch.equal(a.grad, torch.zeros_like(a))


def test_a_score_outside_the_config_literal_is_a_programming_error(ab):
    # params.yaml cannot name one (the schema refuses it); a caller in code that does gets a ValueError
    with pytest.raises(ValueError, match=r"'manhattan' is not one of config.ScoreFunction \('cosine', 'dot', 'euclidean'\)"):
        pairwise_scores(*ab, "manhattan")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="config.ScoreFunction"):
        paired_scores(*ab, "manhattan")  # type: ignore[arg-type]


def test_shape_mismatch_is_an_error(ab):
    a, _ = ab
    with pytest.raises(ValueError, match="pairwise_scores"):
        pairwise_scores(a, torch.randn(3, 4, dtype=a.dtype), "dot")
    with pytest.raises(ValueError, match="paired_scores"):
        paired_scores(a, torch.randn(2, 5, dtype=a.dtype), "dot")
