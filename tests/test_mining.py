"""Hard-negative mining and dev candidates, checked against rankings computed with rank_bm25.BM25Okapi."""

from __future__ import annotations

import math

import numpy as np
import pytest
from rank_bm25 import BM25Okapi

from ragcun.bm25 import tokenize
from ragcun.errors import DataError
from ragcun.mining import dev_candidates, index_corpus, mine_negatives

TOP_K, RANK_MIN, RANK_MAX = 30, 3, 12
MINING = {"top_k": TOP_K, "rank_min": RANK_MIN, "rank_max": RANK_MAX, "hard_negatives": 4, "random_negatives": 3}


@pytest.fixture(scope="module")
def collection() -> tuple[dict, dict, dict]:
    """A Zipfian corpus; queries made of words of their positive documents, some graded 2, one query with
    two positives, one without positives, and an ArguAna-style query stored in the corpus under its own id."""
    rng = np.random.default_rng(0)
    probabilities = 1.0 / np.arange(1, 1501) ** 1.05
    probabilities /= probabilities.sum()

    def text(length: int) -> str:
        return " ".join(f"w{t}" for t in rng.choice(1500, size=length, p=probabilities))

    corpus = {
        f"d{i}": {"title": text(3) if i % 4 == 0 else "", "text": text(int(rng.integers(5, 40)))} for i in range(250)
    }
    queries, qrels = {}, {}
    for number, doc in enumerate(rng.choice(250, size=40, replace=False).tolist()):
        words = tokenize(corpus[f"d{doc}"]["text"])
        queries[f"q{number}"] = " ".join(rng.choice(words, size=min(4, len(words)), replace=False))
        qrels[f"q{number}"] = {f"d{doc}": 1 + number % 2, f"d{(doc + 1) % 250}": 0}
    qrels["q0"]["d7"] = 1
    queries["unjudged"] = "w1 w2"
    qrels["unjudged"] = {"d3": 0}
    corpus["arg"] = {"title": "", "text": "w20 w21 w22 w23 w20"}
    queries["arg"] = "w20 w21 w22 w23 w20"
    qrels["arg"] = {"d11": 1}
    return corpus, queries, qrels


def reference_ranking(corpus: dict, query: str, depth: int, own: str | None) -> list[str]:
    """rank_bm25's top `depth` with score > 0, the query's own id left out; ties by lower corpus position."""
    doc_ids = list(corpus)
    texts = [tokenize((corpus[d]["title"] + " " + corpus[d]["text"]).strip()) for d in doc_ids]
    scores = BM25Okapi(texts).get_scores(tokenize(query))
    order = np.lexsort((np.arange(len(doc_ids)), -scores))
    return [doc_ids[i] for i in order if scores[i] > 0 and doc_ids[i] != own][:depth]


def mine(collection, dtype: str = "float32", n_jobs: int = 1, seed: int = 13, **overrides):
    corpus, queries, qrels = collection
    index, doc_ids = index_corpus(corpus, dtype=dtype)
    return mine_negatives(index, doc_ids, queries, qrels, **{**MINING, **overrides}, seed=seed, n_jobs=n_jobs)


def test_every_record_has_the_fixed_number_of_negatives_and_no_positive(collection) -> None:
    corpus, _, qrels = collection
    records, stats = mine(collection)
    assert [r["query_id"] for r in records] == [q for q, judged in qrels.items() if any(g > 0 for g in judged.values())]
    assert stats["queries"] == len(records) and stats["queries_without_positives"] == 1
    for record in records:
        positives = {doc for doc, grade in qrels[record["query_id"]].items() if grade > 0}
        assert set(record["positive_ids"]) == positives
        negatives = record["hard_negative_ids"] + record["random_negative_ids"]
        assert len(negatives) == len(set(negatives)) == 7
        assert not set(negatives) & positives
        assert record["query_id"] not in negatives
        assert set(negatives) <= set(corpus)


def test_hard_negatives_come_from_the_rank_window_of_rank_bm25(collection) -> None:
    # float64 scores are bit-identical to rank_bm25's, so the ranking (ties included) is exactly the reference.
    corpus, queries, qrels = collection
    records, stats = mine(collection, dtype="float64")
    taken = []
    for record in records:
        qid = record["query_id"]
        positives = set(record["positive_ids"])
        ranked = reference_ranking(corpus, queries[qid], TOP_K, own=qid)
        window = [doc for doc in ranked if doc not in positives][RANK_MIN - 1 : RANK_MAX]
        hard = record["hard_negative_ids"]
        assert len(hard) == min(4, len(window))
        assert set(hard) <= set(window)
        assert [window.index(doc) for doc in hard] == sorted(window.index(doc) for doc in hard)
        taken.append(len(hard))
    assert 0 < np.mean(taken) and stats["hard_negatives_per_query"] == pytest.approx(np.mean(taken))
    assert stats["queries_short_of_hard_negatives"] == sum(n < 4 for n in taken)


def test_same_seed_same_records_whatever_n_jobs_or_query_order(collection) -> None:
    corpus, queries, qrels = collection
    records, _ = mine(collection, n_jobs=1)
    assert mine(collection, n_jobs=3)[0] == records
    reversed_qrels = dict(reversed(list(qrels.items())))
    reordered, _ = mine((corpus, queries, reversed_qrels))
    assert {r["query_id"]: r for r in reordered} == {r["query_id"]: r for r in records}
    other_seed, _ = mine(collection, seed=14)
    assert other_seed != records
    assert [r["hard_negative_ids"] for r in other_seed] != [r["hard_negative_ids"] for r in records]


def test_positives_filling_the_whole_top_k_still_give_the_fixed_number_of_negatives(collection) -> None:
    corpus, queries, _ = collection
    top = reference_ranking(corpus, queries["q5"], 8, own="q5")
    assert len(top) == 8
    qrels = {"q5": {doc: 1 for doc in top}}
    records, stats = mine((corpus, queries, qrels), top_k=8, rank_min=1, rank_max=8)
    assert records[0]["hard_negative_ids"] == []
    assert len(records[0]["random_negative_ids"]) == 7 and not set(records[0]["random_negative_ids"]) & set(top)
    assert stats["queries_without_hard_negatives"] == stats["queries_short_of_hard_negatives"] == 1


def test_statistics_match_an_independent_computation(collection) -> None:
    corpus, queries, qrels = collection
    _, stats = mine(collection, dtype="float64")
    recalls, reciprocal_ranks, ndcgs = [], [], []
    for qid, judged in qrels.items():
        positives = {doc for doc, grade in judged.items() if grade > 0}
        if not positives:
            continue
        ranked = reference_ranking(corpus, queries[qid], TOP_K, own=qid)
        recalls.append(len(positives & set(ranked)) / len(positives))
        hits = [rank for rank, doc in enumerate(ranked[:10], start=1) if doc in positives]
        reciprocal_ranks.append(1 / hits[0] if hits else 0.0)
        gain = sum(judged.get(doc, 0) / math.log2(rank + 1) for rank, doc in enumerate(ranked[:10], start=1))
        ideal = sum(g / math.log2(r + 1) for r, g in enumerate(sorted(judged.values(), reverse=True)[:10], start=1))
        ndcgs.append(gain / ideal)
    assert stats[f"bm25_recall@{TOP_K}"] == pytest.approx(np.mean(recalls))
    assert stats["bm25_mrr@10"] == pytest.approx(np.mean(reciprocal_ranks))
    assert stats["bm25_ndcg@10"] == pytest.approx(np.mean(ndcgs))
    assert 0 < stats["bm25_mrr@10"] < 1 and stats["negatives_per_query"] == 7 and stats["seconds"] >= 0


def test_the_query_own_document_is_never_used(collection) -> None:
    corpus, queries, qrels = collection
    assert reference_ranking(corpus, queries["arg"], 1, own=None) == ["arg"]  # BM25 finds the query itself first
    records, _ = mine(collection)
    record = next(r for r in records if r["query_id"] == "arg")
    assert "arg" not in record["hard_negative_ids"] + record["random_negative_ids"]
    index, doc_ids = index_corpus(corpus)
    candidates = dev_candidates(index, doc_ids, queries, {"arg": qrels["arg"]}, k=10)
    assert "arg" not in candidates[0]["candidate_ids"]


def test_dev_candidates_are_the_bm25_top_k_with_positives_guaranteed(collection) -> None:
    corpus, queries, _ = collection
    ranked = reference_ranking(corpus, queries["q1"], 10, own="q1")
    outsider = next(doc for doc in reference_ranking(corpus, queries["q1"], 250, own="q1")[::-1])
    qrels = {"q1": {ranked[2]: 1, outsider: 2, ranked[4]: 0}}
    index, doc_ids = index_corpus(corpus, dtype="float64")
    [record] = dev_candidates(index, doc_ids, queries, qrels, k=10)
    assert record["positive_ids"] == [ranked[2], outsider]
    assert record["candidate_ids"] == ranked[:9] + [outsider]  # the 10th-ranked non-positive made room


def test_bad_input_raises_ragcun_errors(collection) -> None:
    corpus, queries, qrels = collection
    index, doc_ids = index_corpus(corpus)
    common = {**MINING, "seed": 0}
    with pytest.raises(DataError, match="not in the corpus"):
        mine_negatives(index, doc_ids, queries, {"q1": {"nope": 1}}, **common)
    with pytest.raises(DataError, match="no text"):
        mine_negatives(index, doc_ids, queries, {"missing": {"d1": 1}}, **common)
    with pytest.raises(DataError, match="document ids"):
        mine_negatives(index, doc_ids[:-1], queries, qrels, **common)
    with pytest.raises(DataError, match="needs 7 random negatives"):
        small, small_ids = index_corpus({f"d{i}": corpus[f"d{i}"] for i in range(6)})
        mine_negatives(small, small_ids, {"q": "w1"}, {"q": {"d0": 1}}, **common)


def test_only_matching_documents_are_hard_and_random_ones_avoid_positives_and_own_id() -> None:
    corpus = {"arg": {"title": "", "text": "alpha beta"}, "d0": {"title": "Alpha", "text": "gamma"}}
    corpus.update({f"d{i}": {"title": "", "text": f"filler{i} delta"} for i in range(1, 9)})
    corpus["d9"] = {"title": "", "text": "beta epsilon"}
    queries, qrels = {"arg": "alpha beta"}, {"arg": {"d0": 1}}
    index, doc_ids = index_corpus(corpus)
    settings = {**MINING, "top_k": 10, "rank_min": 1, "rank_max": 10, "hard_negatives": 3, "random_negatives": 6}
    for seed in range(10):  # with the own document in the pool, 10 draws of 8 out of 9 would all but surely take it
        [record], stats = mine_negatives(index, doc_ids, queries, qrels, **settings, seed=seed)
        assert "arg" not in record["random_negative_ids"]
    # Only d9 shares a word with the query (besides the positive d0 and the query's own document); the 8 random
    # negatives must then be all that is left once the positive, the own document and d9 are set aside.
    assert record["hard_negative_ids"] == ["d9"]
    assert sorted(record["random_negative_ids"]) == sorted(f"d{i}" for i in range(1, 9))
    assert stats["queries_short_of_hard_negatives"] == 1 and stats["queries_without_hard_negatives"] == 0
