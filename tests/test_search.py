"""exact_search against a brute-force reference: full score matrix in float64 numpy, then a full sort."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import ragcun.search as search_module
from ragcun.errors import ConfigError, DataError
from ragcun.search import exact_search


def reference_scores(queries: np.ndarray, corpus: np.ndarray, kind: str) -> np.ndarray:
    """Independent float64 score matrix (not ragcun.scoring)."""
    q, c = queries.astype(np.float64), corpus.astype(np.float64)
    if kind == "dot":
        return q @ c.T
    if kind == "cosine":
        return (q / np.linalg.norm(q, axis=1, keepdims=True)) @ (c / np.linalg.norm(c, axis=1, keepdims=True)).T
    return -np.sqrt(((q[:, None, :] - c[None, :, :]) ** 2).sum(-1))


def reference_top_k(scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Full sort of every row by (score descending, index ascending)."""
    indices = np.arange(scores.shape[1])
    order = np.stack([np.lexsort((indices, -row)) for row in scores])[:, :k]
    return order, np.take_along_axis(scores, order, axis=1)


@pytest.fixture(autouse=True, scope="module")
def single_thread():
    # The tensors here are tiny; on a busy machine OpenMP's thread hand-off costs ms per op, which made this
    # file take ~100x longer with the default thread count.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def integer_data() -> tuple[np.ndarray, np.ndarray]:
    # Small integers: every dot product is an exact integer in float32, so there are many exact ties and the
    # tie rule can be checked index by index.
    rng = np.random.default_rng(0)
    queries = rng.integers(-2, 3, size=(13, 6)).astype(np.float32)
    corpus = rng.integers(-2, 3, size=(97, 6)).astype(np.float32)
    return queries, corpus


@pytest.mark.parametrize("chunk_size", [1, 7, 10, 96, 97, 500])
@pytest.mark.parametrize("batch_size", [1, 4, 1024])
@pytest.mark.parametrize("k", [1, 5, 40, 97, 150])
def test_matches_full_sort_with_exact_ties(integer_data, chunk_size, batch_size, k):
    queries, corpus = integer_data
    expected_indices, expected_scores = reference_top_k(reference_scores(queries, corpus, "dot"), min(k, 97))
    indices, scores = exact_search(queries, corpus, k=k, score="dot", chunk_size=chunk_size, batch_size=batch_size)
    assert indices.dtype == np.int64 and scores.dtype == np.float32
    assert indices.shape == scores.shape == (13, min(k, 97))
    np.testing.assert_array_equal(indices, expected_indices)
    np.testing.assert_array_equal(scores, expected_scores.astype(np.float32))


def test_ties_go_to_the_lower_index_when_every_score_is_equal():
    corpus = np.ones((25, 4), dtype=np.float32)
    indices, scores = exact_search(np.ones((2, 4), np.float32), corpus, k=6, score="cosine", chunk_size=4)
    np.testing.assert_array_equal(indices, np.tile(np.arange(6), (2, 1)))
    np.testing.assert_allclose(scores, 1.0, rtol=1e-6)


@pytest.mark.parametrize("kind", ["cosine", "dot", "euclidean"])
@pytest.mark.parametrize("chunk_size", [33, 100, 1000])
def test_float_vectors_match_reference(kind, chunk_size):
    rng = np.random.default_rng(1)
    queries = rng.normal(size=(20, 16)).astype(np.float32)
    corpus = rng.normal(size=(301, 16)).astype(np.float32)
    reference = reference_scores(queries, corpus, kind)
    _, expected_scores = reference_top_k(reference, 10)
    indices, scores = exact_search(queries, corpus, k=10, score=kind, chunk_size=chunk_size, batch_size=7)
    # Float32 vs float64 may reorder near-ties, so check values: the returned scores are the 10 best, and
    # each returned document really has the returned score; documents are distinct.
    np.testing.assert_allclose(scores, expected_scores, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(np.take_along_axis(reference, indices, axis=1), scores, rtol=1e-5, atol=1e-5)
    assert all(len(set(row)) == 10 for row in indices.tolist())


def test_euclidean_returns_negative_distance_of_nearest():
    corpus = np.array([[0.0, 0.0], [3.0, 4.0], [1.0, 0.0]], dtype=np.float32)
    indices, scores = exact_search(np.array([[0.0, 0.1]], np.float32), corpus, k=3, score="euclidean")
    np.testing.assert_array_equal(indices, [[0, 2, 1]])
    np.testing.assert_allclose(scores, [[-0.1, -np.hypot(1.0, 0.1), -np.hypot(3.0, 3.9)]], rtol=1e-6)


def test_memmap_and_tensor_inputs_give_the_same_result(tmp_path, integer_data):
    queries, corpus = integer_data
    path = tmp_path / "corpus.f32"
    corpus.tofile(path)
    mapped = np.memmap(path, dtype=np.float32, mode="r", shape=corpus.shape)
    expected = exact_search(queries, corpus, k=9, score="dot", chunk_size=10)
    for q, c in ((queries, mapped), (torch.from_numpy(queries), torch.from_numpy(corpus))):
        indices, scores = exact_search(q, c, k=9, score="dot", chunk_size=10)
        np.testing.assert_array_equal(indices, expected[0])
        np.testing.assert_array_equal(scores, expected[1])


def test_half_precision_corpus_is_scored_in_float32(integer_data):
    queries, corpus = integer_data
    indices, _ = exact_search(queries, corpus.astype(np.float16), k=5, score="dot", chunk_size=11)
    np.testing.assert_array_equal(indices, reference_top_k(reference_scores(queries, corpus, "dot"), 5)[0])


def test_score_blocks_never_exceed_batch_times_chunk(monkeypatch, integer_data):
    queries, corpus = integer_data
    shapes: list[tuple[int, int]] = []
    real = search_module.pairwise_scores

    def recording(a, b, kind):
        shapes.append((a.shape[0], b.shape[0]))
        return real(a, b, kind)

    monkeypatch.setattr(search_module, "pairwise_scores", recording)
    exact_search(queries, corpus, k=5, score="dot", chunk_size=20, batch_size=4)
    assert max(rows for rows, _ in shapes) == 4 and max(cols for _, cols in shapes) == 20
    # every (query, document) pair is scored exactly once
    assert sum(rows * cols for rows, cols in shapes) == 13 * 97


def test_no_queries_gives_empty_result(integer_data):
    _, corpus = integer_data
    indices, scores = exact_search(np.zeros((0, 6), np.float32), corpus, k=3, score="dot")
    assert indices.shape == scores.shape == (0, 3)


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"k": 0}, ConfigError, "k must be a positive integer"),
        ({"chunk_size": 0}, ConfigError, "chunk_size"),
        ({"batch_size": -1}, ConfigError, "batch_size"),
        ({"score": "manhattan"}, ValueError, "not one of config.ScoreFunction"),
    ],
)
def test_bad_arguments_raise(kwargs, error, message, integer_data):
    queries, corpus = integer_data
    arguments = {"k": 3, "score": "dot", **kwargs}
    with pytest.raises(error, match=message):
        exact_search(queries, corpus, **arguments)


def test_bad_data_raises():
    queries = np.zeros((2, 4), np.float32)
    with pytest.raises(DataError, match="dimension 4 differs from corpus dimension 5"):
        exact_search(queries, np.zeros((3, 5), np.float32), k=1, score="dot")
    with pytest.raises(DataError, match="corpus is empty"):
        exact_search(queries, np.zeros((0, 4), np.float32), k=1, score="dot")
    corpus = np.ones((10, 4), np.float32)
    corpus[7, 2] = np.nan
    with pytest.raises(DataError, match="corpus row 7"):
        exact_search(queries, corpus, k=1, score="dot", chunk_size=3)
