"""BEIR metrics on a hand-built dataset; every expectation is derived by hand from trec_eval's definitions.

trec_eval definitions used (rank r counted from 1, k the cutoff, rel(d) the judged grade, 0 if unjudged):
  NDCG@k = DCG@k / IDCG@k, DCG@k = sum_{r<=k} rel(d_r) / log2(r + 1), IDCG@k = the same over the judged
           grades sorted descending (all judged documents, retrieved or not).
  AP@k   = sum over relevant (rel >= 1) d_r with r <= k of P@r, divided by the number of relevant documents.
  Recall@k = relevant retrieved in the top k / number of relevant.   P@k = relevant in the top k / k.
  MRR@k (BEIR) = 1 / rank of the first document with rel > 0 within the top k, else 0.
"""

from __future__ import annotations

import logging
from math import log2

import numpy as np
import pytest

from ragcun.errors import ConfigError, DataError
from ragcun.evaluation import drop_identical_ids, evaluate_results, results_from_search

QRELS = {
    "q1": {"d1": 2, "d2": 1, "d5": 1},  # graded; d5 is never retrieved
    "q2": {"d3": 1},  # its relevant document is never retrieved
    "q3": {"d4": 1, "d6": 0},  # d6 judged non-relevant
}
RESULTS = {
    "q1": {"d3": 0.9, "d1": 0.8, "d4": 0.7, "d2": 0.6},  # ranks: d3, d1 (2), d4, d2 (1)
    "q2": {"d1": 0.5, "d2": 0.4},
    "q3": {"d6": 0.9, "d4": 0.1},  # ranks: d6 (0), d4 (1)
}
K_VALUES = (1, 3, 5, 10, 100)


def hand_expectations() -> dict[str, float]:
    idcg_q1 = {1: 2.0, 3: 2 + 1 / log2(3) + 1 / log2(4)}  # grades 2, 1, 1
    dcg_q1 = {1: 0.0, 3: 2 / log2(3), 5: 2 / log2(3) + 1 / log2(5)}
    ndcg_q1 = {1: 0.0, 3: dcg_q1[3] / idcg_q1[3], 5: dcg_q1[5] / idcg_q1[3], 10: dcg_q1[5] / idcg_q1[3],
               100: dcg_q1[5] / idcg_q1[3]}
    ndcg_q3 = {1: 0.0, 3: (1 / log2(3)) / 1.0, 5: 1 / log2(3), 10: 1 / log2(3), 100: 1 / log2(3)}
    ap_q1 = {1: 0.0, 3: (1 / 2) / 3, 5: (1 / 2 + 2 / 4) / 3, 10: (1 / 2 + 2 / 4) / 3, 100: (1 / 2 + 2 / 4) / 3}
    ap_q3 = {1: 0.0, 3: 1 / 2, 5: 1 / 2, 10: 1 / 2, 100: 1 / 2}
    recall_q1 = {1: 0.0, 3: 1 / 3, 5: 2 / 3, 10: 2 / 3, 100: 2 / 3}
    recall_q3 = {1: 0.0, 3: 1.0, 5: 1.0, 10: 1.0, 100: 1.0}
    hits_q1 = {1: 0, 3: 1, 5: 2, 10: 2, 100: 2}
    hits_q3 = {1: 0, 3: 1, 5: 1, 10: 1, 100: 1}
    rr = {1: 0.0, 3: 1 / 2, 5: 1 / 2, 10: 1 / 2, 100: 1 / 2}  # q1 and q3 both first hit at rank 2
    expected = {}
    for k in K_VALUES:  # q2 scores 0 everywhere; average over the 3 judged queries
        expected[f"ndcg@{k}"] = (ndcg_q1[k] + ndcg_q3[k]) / 3
        expected[f"map@{k}"] = (ap_q1[k] + ap_q3[k]) / 3
        expected[f"recall@{k}"] = (recall_q1[k] + recall_q3[k]) / 3
        expected[f"precision@{k}"] = (hits_q1[k] / k + hits_q3[k] / k) / 3
        expected[f"mrr@{k}"] = (rr[k] + rr[k]) / 3
    return expected


def test_metrics_match_hand_derived_values():
    metrics, per_query = evaluate_results(QRELS, RESULTS, dataset="toy", k_values=K_VALUES)
    expected = hand_expectations()
    assert set(metrics) == set(expected)
    for key, value in expected.items():
        assert metrics[key] == pytest.approx(value, abs=6e-6), key  # BEIR rounds to 5 decimals
    idcg_q1 = 2 + 1 / log2(3) + 1 / log2(4)
    assert per_query == pytest.approx({"q1": (2 / log2(3) + 1 / log2(5)) / idcg_q1, "q2": 0.0, "q3": 1 / log2(3)})


def test_contract_keys_present_with_default_k_values():
    metrics, _ = evaluate_results(QRELS, RESULTS, dataset="toy")
    assert {"ndcg@10", "map@100", "recall@100", "mrr@10"} <= set(metrics)
    assert all(isinstance(value, float) for value in metrics.values())


def test_queries_without_qrels_are_skipped():
    with_extra = {**RESULTS, "q4": {"d1": 1.0}}
    assert evaluate_results(QRELS, with_extra, dataset="toy") == evaluate_results(QRELS, RESULTS, dataset="toy")


def test_qrels_queries_without_results_are_left_out_with_a_warning(caplog):
    qrels = {**QRELS, "q9": {"d1": 1}}
    with caplog.at_level(logging.WARNING, logger="ragcun.evaluation"):
        metrics, per_query = evaluate_results(qrels, RESULTS, dataset="toy")
    assert metrics == evaluate_results(QRELS, RESULTS, dataset="toy")[0]
    assert "q9" not in per_query
    assert "toy: 1 of 4 queries in the qrels have no results" in caplog.text


def test_no_matching_queries_raises_naming_the_dataset():
    with pytest.raises(DataError, match="scifact: none of the 3 queries in the qrels has retrieval results"):
        evaluate_results(QRELS, {"x": {"d1": 1.0}}, dataset="scifact")
    with pytest.raises(DataError, match="scifact: the qrels are empty"):
        evaluate_results({}, RESULTS, dataset="scifact")


def test_bad_inputs_raise():
    with pytest.raises(DataError, match="toy: qrels relevance of query 'q1', document 'd1' is not an integer"):
        evaluate_results({"q1": {"d1": 1.5}}, RESULTS, dataset="toy")
    with pytest.raises(ConfigError, match="k_values"):
        evaluate_results(QRELS, RESULTS, dataset="toy", k_values=(0, 10))


def test_identical_ids_are_ignored_by_default():
    # ArguAna-like: the query is also a corpus document and retrieves itself first.
    qrels = {"a1": {"a2": 1}}
    results = {"a1": {"a1": 0.99, "a2": 0.5}}
    ignored, per_query = evaluate_results(qrels, results, dataset="arguana")
    kept, _ = evaluate_results(qrels, results, dataset="arguana", ignore_identical_ids=False)
    assert ignored["ndcg@10"] == pytest.approx(1.0) and per_query == {"a1": pytest.approx(1.0)}
    assert ignored["mrr@10"] == pytest.approx(1.0)
    assert kept["ndcg@10"] == pytest.approx(1 / log2(3), abs=6e-6)
    assert kept["mrr@10"] == pytest.approx(0.5)
    assert results == {"a1": {"a1": 0.99, "a2": 0.5}}, "the caller's results must not be mutated"


def test_drop_identical_ids():
    assert drop_identical_ids({"q": {"q": 1.0, "d": 0.5}, "r": {}}) == {"q": {"d": 0.5}, "r": {}}


def test_results_from_search_maps_indices_and_drops_identical_ids():
    doc_ids = ["a1", "a2", "a3", "a4"]
    indices = np.array([[0, 2, 1], [3, 1, 0]])
    scores = np.array([[0.9, 0.8, 0.7], [0.6, 0.5, 0.4]], dtype=np.float32)
    results = results_from_search(["a1", "q"], doc_ids, indices, scores, top_k=2)
    assert results == {"a1": {"a3": pytest.approx(0.8), "a2": pytest.approx(0.7)},
                       "q": {"a4": pytest.approx(0.6), "a2": pytest.approx(0.5)}}
    assert all(type(score) is float for docs in results.values() for score in docs.values())
    kept = results_from_search(["a1", "q"], doc_ids, indices, scores, ignore_identical_ids=False)
    assert list(kept["a1"]) == ["a1", "a3", "a2"]


def test_results_from_search_rejects_inconsistent_input():
    scores = np.zeros((1, 2))
    with pytest.raises(DataError, match="do not match 2 query ids"):
        results_from_search(["q", "r"], ["a", "b"], np.array([[0, 1]]), scores)
    with pytest.raises(DataError, match="outside"):
        results_from_search(["q"], ["a", "b"], np.array([[0, 2]]), scores)
    with pytest.raises(DataError, match="query id 'q' appears twice"):
        results_from_search(["q", "q"], ["a", "b"], np.array([[0, 1], [1, 0]]), np.zeros((2, 2)))
    with pytest.raises(DataError, match="document id 'a' appears twice"):
        results_from_search(["q"], ["a", "a"], np.array([[0, 1]]), scores)
