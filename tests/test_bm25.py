"""BM25Index against rank_bm25.BM25Okapi, the reference it must reproduce (scores and top-k sets)."""

from __future__ import annotations

import json
import mmap

import numpy as np
import pytest
from rank_bm25 import BM25Okapi

import ragcun.bm25 as bm25_module
from ragcun.bm25 import BM25Index, tokenize
from ragcun.errors import ConfigError, DataError


def zipf_corpus(seed: int, n_docs: int, vocabulary: int = 2000, mean_length: int = 30) -> list[list[str]]:
    """Zipfian word frequencies and varied lengths, including one-word documents."""
    rng = np.random.default_rng(seed)
    probabilities = 1.0 / np.arange(1, vocabulary + 1) ** 1.1
    probabilities /= probabilities.sum()
    lengths = np.maximum(1, rng.poisson(mean_length, size=n_docs) + rng.integers(-20, 20, size=n_docs))
    lengths[:3] = 1
    return [[f"w{t}" for t in rng.choice(vocabulary, size=length, p=probabilities)] for length in lengths]


def zipf_queries(seed: int, n_queries: int, vocabulary: int = 2000) -> list[list[str]]:
    """Short queries over the same vocabulary, plus repeated and unknown words."""
    rng = np.random.default_rng(seed + 1000)
    probabilities = 1.0 / np.arange(1, vocabulary + 1) ** 0.8
    probabilities /= probabilities.sum()
    queries = [
        [f"w{t}" for t in rng.choice(vocabulary, size=rng.integers(1, 9), p=probabilities)] for _ in range(n_queries)
    ]
    queries += [["w5", "w5", "w900"], ["unknown", "w3"], ["w1999", "w1998", "w7", "w7", "w7"]]
    return queries


def reference_top_k(scores: np.ndarray, k: int) -> np.ndarray:
    """Full sort by (score descending, document index ascending)."""
    return np.lexsort((np.arange(scores.shape[0]), -scores))[:k]


def assert_matches_rank_bm25(index: BM25Index, reference: BM25Okapi, queries: list[list[str]], k: int) -> None:
    indices, scores = index.search(queries, k, n_jobs=2)
    assert indices.shape == scores.shape == (len(queries), min(k, index.n_docs))
    for row, query in enumerate(queries):
        expected = reference.get_scores(query)
        np.testing.assert_allclose(scores[row], expected[indices[row]], rtol=1e-6, atol=1e-12)
        reference_set = reference_top_k(expected, k)
        swapped = set(indices[row].tolist()) ^ set(reference_set.tolist())
        # float32 weights may swap documents whose float64 scores differ by ulps across the k-th place (seen
        # here: 5.460740117831006 vs ...007, equal in float32, so the lower index wins); nothing else may differ.
        kth = expected[reference_set[-1]]
        assert all(abs(expected[doc] - kth) <= 1e-6 * abs(kth) for doc in swapped), (row, sorted(swapped))
        # Sorted by the returned scores, ties by lower index.
        assert np.array_equal(indices[row], indices[row][np.lexsort((indices[row], -scores[row]))])
        if index.dtype == "float64":  # bit-identical: the very same ranking, ties included
            assert np.array_equal(indices[row], reference_top_k(expected, k))
            assert np.array_equal(scores[row], expected[indices[row]])


def test_tokenize_lowercases_unicode_words() -> None:
    assert tokenize("Héllo, WORLD! naïve_café 42x\tΣΊΣΥΦΟΣ") == ["héllo", "world", "naïve_café", "42x", "σίσυφος"]
    assert tokenize("  ...  ") == []


@pytest.mark.parametrize(
    ("seed", "n_docs", "k1", "b", "epsilon"),
    [(0, 400, 1.5, 0.75, 0.25), (1, 700, 1.2, 0.4, 0.1), (2, 300, 2.0, 1.0, 0.5), (3, 250, 0.9, 0.0, 0.25)],
)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_search_matches_rank_bm25(seed: int, n_docs: int, k1: float, b: float, epsilon: float, dtype: str) -> None:
    corpus = zipf_corpus(seed, n_docs)
    queries = zipf_queries(seed, 40)
    index = BM25Index(corpus, k1=k1, b=b, epsilon=epsilon, dtype=dtype)
    reference = BM25Okapi(corpus, k1=k1, b=b, epsilon=epsilon)
    assert reference.average_idf > 0  # the floor is positive here; the negative case has its own test
    np.testing.assert_array_equal(index.idf, [reference.idf[term] for term in index.vocabulary])
    assert index.avgdl == reference.avgdl
    for k in (1, 10, 60):
        assert_matches_rank_bm25(index, reference, queries, k)


def test_large_corpus_path_matches_small_corpus_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """Above _PRODUCT_MAX_DOCS documents scores are accumulated with np.add.at in blocks of few rows: the same
    additions in the same order, hence the same bits."""
    corpus, queries = zipf_corpus(4, 600), zipf_queries(4, 60)
    for dtype in ("float32", "float64"):
        index = BM25Index(corpus, dtype=dtype)
        small_path = index.search(queries, 25, n_jobs=1)
        monkeypatch.setattr(bm25_module, "_PRODUCT_MAX_DOCS", 0)
        monkeypatch.setattr(bm25_module, "_BLOCK_ENTRIES", 3 * 600)  # three queries per block
        large_path = index.search(queries, 25, n_jobs=2)
        monkeypatch.undo()
        np.testing.assert_array_equal(small_path[0], large_path[0])
        np.testing.assert_array_equal(small_path[1], large_path[1])
        assert_matches_rank_bm25(index, BM25Okapi(corpus), queries, 25)


def test_build_in_many_chunks_equals_build_in_one(monkeypatch: pytest.MonkeyPatch) -> None:
    """Big corpora are counted and transposed in chunks of documents; the index must not depend on it."""
    corpus, queries = zipf_corpus(16, 400), zipf_queries(16, 30)
    one = BM25Index(corpus)
    monkeypatch.setattr(bm25_module, "_BUILD_CHUNK_DOCS", 37)
    many = BM25Index(iter(corpus), dtype="float64")
    assert many.vocabulary == one.vocabulary
    for name in ("indptr", "indices"):
        np.testing.assert_array_equal(getattr(one._postings, name), getattr(many._postings, name))
    np.testing.assert_array_equal(one._postings.data, many._postings.data.astype(np.float32))
    assert_matches_rank_bm25(many, BM25Okapi(corpus), queries, 20)


def test_get_scores_matches_rank_bm25_for_every_document() -> None:
    corpus = zipf_corpus(5, 200)
    index, reference = BM25Index(corpus), BM25Okapi(corpus)
    for query in zipf_queries(5, 5):
        np.testing.assert_allclose(index.get_scores(query), reference.get_scores(query), rtol=1e-6, atol=1e-12)


def test_repeated_query_term_counts_once_per_occurrence() -> None:
    corpus = zipf_corpus(6, 100)
    index, reference = BM25Index(corpus, dtype="float64"), BM25Okapi(corpus)
    once, twice = index.get_scores(["w2", "w40"]), index.get_scores(["w2", "w40", "w2"])
    np.testing.assert_array_equal(twice, reference.get_scores(["w2", "w40", "w2"]))
    assert (twice > once).sum() > 0 and np.all(twice >= once)


def test_term_in_every_document_gets_the_epsilon_floor() -> None:
    corpus = [["common"] + doc for doc in zipf_corpus(7, 120)]
    index, reference = BM25Index(corpus, epsilon=0.3), BM25Okapi(corpus, epsilon=0.3)
    raw_idf = np.log(120 - 120 + 0.5) - np.log(120 + 0.5)
    assert raw_idf < 0
    floor = 0.3 * reference.average_idf
    assert floor > 0
    assert index.idf[index.vocabulary["common"]] == pytest.approx(floor, rel=1e-15)
    assert_matches_rank_bm25(index, reference, [["common"], ["common", "w1"], ["w3", "common", "common"]], 15)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_negative_floor_when_most_terms_are_in_most_documents(dtype: str) -> None:
    """With a negative mean idf, rank_bm25's floor is negative: matching documents score below 0 and rank
    after the documents that do not match at all."""
    corpus = [["a", "b"], ["a", "b", "b"], ["a"], ["a", "b", "c"], ["b", "a"]]
    index, reference = BM25Index(corpus, dtype=dtype), BM25Okapi(corpus)
    assert reference.average_idf < 0
    indices, scores = index.search([["b"]], 5, n_jobs=1)
    assert indices[0, 0] == 2 and scores[0, 0] == 0 and np.all(scores[0, 1:] < 0)
    assert_matches_rank_bm25(index, reference, [["b"], ["a"], ["c", "a"], ["b", "c"]], 5)


def test_empty_and_unknown_queries_return_lowest_indices_with_zero_scores() -> None:
    index = BM25Index(zipf_corpus(8, 50))
    indices, scores = index.search([[], ["nowhere", "to", "be", "found"]], 7, n_jobs=1)
    np.testing.assert_array_equal(indices, [np.arange(7), np.arange(7)])
    np.testing.assert_array_equal(scores, np.zeros((2, 7)))


def test_few_matches_are_followed_by_zero_score_documents_in_index_order() -> None:
    corpus = zipf_corpus(9, 300)
    rare = next(term for term in BM25Okapi(corpus).idf if sum(term in doc for doc in corpus) == 2)
    index, reference = BM25Index(corpus), BM25Okapi(corpus)
    indices, scores = index.search([[rare]], 10, n_jobs=1)
    assert np.all(scores[0, :2] > 0) and np.all(scores[0, 2:] == 0)
    np.testing.assert_array_equal(indices[0], reference_top_k(reference.get_scores([rare]), 10))


def test_duplicate_documents_tie_and_keep_index_order() -> None:
    corpus = zipf_corpus(10, 80)
    corpus[70] = list(corpus[12])
    corpus[40] = list(corpus[12])
    index, reference = BM25Index(corpus), BM25Okapi(corpus)
    query = corpus[12][:3]
    indices, scores = index.search([query], 80, n_jobs=1)
    positions = [int(np.flatnonzero(indices[0] == doc)[0]) for doc in (12, 40, 70)]
    assert scores[0, positions[0]] == scores[0, positions[1]] == scores[0, positions[2]]
    assert positions == sorted(positions)
    assert_matches_rank_bm25(index, reference, [query], 10)


def test_k_larger_than_corpus_returns_whole_corpus_ranked() -> None:
    corpus = zipf_corpus(11, 30)
    index, reference = BM25Index(corpus, dtype="float64"), BM25Okapi(corpus)
    queries = zipf_queries(11, 4)
    indices, scores = index.search(queries, 1000, n_jobs=1)
    assert indices.shape == scores.shape == (len(queries), 30)
    for row, query in enumerate(queries):
        np.testing.assert_array_equal(indices[row], reference_top_k(reference.get_scores(query), 30))


def test_results_do_not_depend_on_n_jobs() -> None:
    corpus, queries = zipf_corpus(12, 500), zipf_queries(12, 300)
    index = BM25Index(corpus)
    single = index.search(queries, 20, n_jobs=1)
    for n_jobs in (2, 3, -1):
        many = index.search(queries, 20, n_jobs=n_jobs)
        np.testing.assert_array_equal(single[0], many[0])
        np.testing.assert_array_equal(single[1], many[1])


def test_build_from_a_generator_with_progress() -> None:
    corpus = zipf_corpus(13, 90)
    from_list = BM25Index(corpus)
    from_generator = BM25Index((doc for doc in corpus), show_progress=True)
    queries = zipf_queries(13, 10)
    np.testing.assert_array_equal(from_list.search(queries, 9)[0], from_generator.search(queries, 9)[0])


def _backed_by_file(array: np.ndarray) -> bool:
    while array is not None:
        if isinstance(array, (np.memmap, mmap.mmap)):
            return True
        array = getattr(array, "base", None)
    return False


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_save_load_round_trip_with_mmap(tmp_path, dtype: str) -> None:
    corpus = zipf_corpus(14, 300) + [["ünïcödé", "日本語", "w1"]]
    queries = zipf_queries(14, 30) + [["日本語"]]
    index = BM25Index(corpus, k1=1.3, b=0.6, epsilon=0.2, dtype=dtype)
    index.save(tmp_path / "index")
    expected = index.search(queries, 15)
    for use_mmap in (True, False):
        loaded = BM25Index.load(tmp_path / "index", mmap=use_mmap)
        assert _backed_by_file(loaded._postings.data) == use_mmap
        assert (loaded.k1, loaded.b, loaded.epsilon, loaded.dtype) == (1.3, 0.6, 0.2, dtype)
        assert loaded.vocabulary == index.vocabulary
        got = loaded.search(queries, 15)
        np.testing.assert_array_equal(expected[0], got[0])
        np.testing.assert_array_equal(expected[1], got[1])


def test_load_rejects_missing_or_inconsistent_folders(tmp_path) -> None:
    with pytest.raises(DataError, match="meta.json"):
        BM25Index.load(tmp_path / "absent")
    BM25Index(zipf_corpus(15, 20)).save(tmp_path / "index")
    meta_path = tmp_path / "index" / "meta.json"
    meta = json.loads(meta_path.read_text())
    meta_path.write_text(json.dumps({**meta, "n_docs": 21}))
    with pytest.raises(DataError, match="do not match"):
        BM25Index.load(tmp_path / "index")
    meta_path.write_text(json.dumps(meta))
    (tmp_path / "index" / "idf.npy").unlink()
    with pytest.raises(DataError, match="idf.npy"):
        BM25Index.load(tmp_path / "index")


def test_bad_input_raises_ragcun_errors() -> None:
    with pytest.raises(DataError, match="empty"):
        BM25Index([])
    with pytest.raises(DataError, match="not a single token"):
        BM25Index([[], []])
    with pytest.raises(DataError, match="document 1 is a string"):
        BM25Index([["a"], "b c"])
    with pytest.raises(ConfigError, match="b must"):
        BM25Index([["a"]], b=1.5)
    with pytest.raises(ConfigError, match="dtype"):
        BM25Index([["a"]], dtype="float16")
    index = BM25Index([["a"], ["b"]])
    with pytest.raises(ConfigError, match="k must"):
        index.search([["a"]], 0)
    with pytest.raises(ConfigError, match="n_jobs"):
        index.search([["a"]], 1, n_jobs=0)
    with pytest.raises(DataError, match="query 0 is a string"):
        index.search(["a"], 1)
