"""BEIR retrieval metrics, computed by BEIR itself (``EvaluateRetrieval``, which wraps pytrec_eval).

Data model: BEIR's plain dicts. ``qrels = {query_id: {doc_id: relevance (int)}}`` and
``results = {query_id: {doc_id: score (float)}}``.

Semantics, all BEIR's:

- Identical ids: with ``ignore_identical_ids=True`` (BEIR's default in both ``DenseRetrievalExactSearch.search``
  and ``EvaluateRetrieval.evaluate``) a retrieved document whose id equals the query id is dropped. It matters
  for ArguAna, whose queries are also corpus documents. BEIR's search asks for top_k + 1 per query and keeps
  the top_k that remain, so to reproduce it, search with k + 1 and pass ``top_k=k`` to
  :func:`results_from_search`.
- Queries: only queries present in both ``results`` and ``qrels`` are evaluated. Queries with results but no
  qrels are skipped (pytrec_eval ignores them; BEIR only loads queries that have qrels). A query with qrels but
  no results entry at all is also left out, as ``EvaluateRetrieval.evaluate`` averages over the queries
  pytrec_eval returns; it is logged as a warning. A query whose results are empty (every retrieved document
  was its own id) still counts, with score 0, as in BEIR.
- Metrics: NDCG@k (trec_eval's ``ndcg_cut``: gain = graded relevance, discount log2(rank + 1), ideal from all
  judged documents), MAP@k (``map_cut``), Recall@k (``recall``), P@k (``P``) per query averaged over queries,
  MRR@k from BEIR's ``evaluate_custom(metric="mrr")`` (reciprocal rank of the first document with relevance
  > 0). BEIR rounds every average to 5 decimals. trec_eval breaks score ties by document id, descending.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

import numpy as np
import pytrec_eval
from beir.retrieval.evaluation import EvaluateRetrieval

from ragcun.errors import ConfigError, DataError

logger = logging.getLogger(__name__)

Qrels = Mapping[str, Mapping[str, int]]
Results = dict[str, dict[str, float]]

DEFAULT_K_VALUES: tuple[int, ...] = (1, 3, 5, 10, 100)
# BEIR's metric names -> our lower-case keys ("NDCG@10" -> "ndcg@10", "P@10" -> "precision@10").
_METRIC_NAMES = {"NDCG": "ndcg", "MAP": "map", "Recall": "recall", "P": "precision", "MRR": "mrr"}
# The measure string BEIR's evaluate passes to pytrec_eval for NDCG (``"ndcg_cut." + ks``).
_PER_QUERY_NDCG_MEASURE = "ndcg_cut.10"


def results_from_search(
    query_ids: Sequence[str],
    doc_ids: Sequence[str],
    indices: np.ndarray,
    scores: np.ndarray,
    *,
    ignore_identical_ids: bool = True,
    top_k: int | None = None,
) -> Results:
    """Turn ``exact_search`` output (rows of corpus indices and scores) into a BEIR results dict.

    With ``ignore_identical_ids`` a retrieved document whose id equals the query id is dropped (BEIR's rule);
    then at most ``top_k`` documents are kept per query, in the given (score-descending) order.
    """
    indices, scores = np.asarray(indices), np.asarray(scores)
    if indices.shape != scores.shape or indices.ndim != 2 or indices.shape[0] != len(query_ids):
        raise DataError(
            f"search output shapes {indices.shape} (indices) and {scores.shape} (scores) do not match "
            f"{len(query_ids)} query ids"
        )
    if indices.size and (indices.min() < 0 or indices.max() >= len(doc_ids)):
        raise DataError(f"search output has a corpus index outside [0, {len(doc_ids)})")
    if top_k is not None and top_k < 1:
        raise ConfigError(f"results_from_search: top_k must be a positive integer, got {top_k}")
    results: Results = {}
    for query_id, row_indices, row_scores in zip(query_ids, indices.tolist(), scores.tolist()):
        if query_id in results:
            raise DataError(f"query id {query_id!r} appears twice in the query list")
        kept = [
            (doc_ids[index], score)
            for index, score in zip(row_indices, row_scores)
            if not (ignore_identical_ids and doc_ids[index] == query_id)
        ][:top_k]
        ranking = dict(kept)
        if len(ranking) < len(kept):
            duplicate = next(doc for doc, _ in kept if sum(d == doc for d, _ in kept) > 1)
            raise DataError(f"document id {duplicate!r} appears twice in the corpus (retrieved for {query_id!r})")
        results[query_id] = ranking
    return results


def drop_identical_ids(results: Mapping[str, Mapping[str, float]]) -> Results:
    """A copy of ``results`` without documents whose id equals their query id (BEIR's rule).

    Re-implemented (two lines) because ``EvaluateRetrieval.evaluate`` applies it by mutating its argument in
    place, and MRR and per-query NDCG must see the same filtered results.
    """
    return {qid: {doc: score for doc, score in docs.items() if doc != qid} for qid, docs in results.items()}


def evaluate_results(
    qrels: Qrels,
    results: Mapping[str, Mapping[str, float]],
    *,
    dataset: str,
    k_values: Sequence[int] = DEFAULT_K_VALUES,
    ignore_identical_ids: bool = True,
) -> tuple[dict[str, float], dict[str, float]]:
    """BEIR metrics of ``results`` against ``qrels``.

    Returns ``(metrics, per_query_ndcg10)``: ``metrics`` has ``ndcg@k``, ``map@k``, ``recall@k``,
    ``precision@k`` and ``mrr@k`` for every k in ``k_values`` (BEIR's values, rounded to 5 decimals);
    ``per_query_ndcg10`` maps each evaluated query id to its unrounded NDCG@10 (pytrec_eval, the measure
    BEIR uses), e.g. for significance tests. ``dataset`` names the data set in error messages.
    """
    k_list = _check_k_values(k_values, dataset)
    if ignore_identical_ids:
        results = drop_identical_ids(results)
    judged = _evaluated_qrels(qrels, results, dataset)
    evaluated = {qid: {doc: float(score) for doc, score in results[qid].items()} for qid in judged}

    metrics: dict[str, float] = {}
    for table in EvaluateRetrieval.evaluate(judged, evaluated, k_list, ignore_identical_ids=False):
        metrics.update(_lower_case(table))
    metrics.update(_lower_case(EvaluateRetrieval.evaluate_custom(judged, evaluated, k_list, metric="mrr")))

    per_query = pytrec_eval.RelevanceEvaluator(judged, {_PER_QUERY_NDCG_MEASURE}).evaluate(evaluated)
    per_query_ndcg10 = {qid: float(values["ndcg_cut_10"]) for qid, values in per_query.items()}
    return metrics, per_query_ndcg10


def _check_k_values(k_values: Sequence[int], dataset: str) -> list[int]:
    k_list = list(k_values)
    if not k_list or any(isinstance(k, bool) or not isinstance(k, int) or k < 1 for k in k_list):
        raise ConfigError(f"{dataset}: k_values must be positive integers, got {k_values!r}")
    return k_list


def _evaluated_qrels(
    qrels: Qrels, results: Mapping[str, Mapping[str, float]], dataset: str
) -> dict[str, dict[str, int]]:
    """The qrels of the queries that have results (BEIR evaluates exactly those), with int relevance."""
    if not qrels:
        raise DataError(f"{dataset}: the qrels are empty")
    judged: dict[str, dict[str, int]] = {}
    for qid, judgements in qrels.items():
        if qid not in results:
            continue
        for doc_id, relevance in judgements.items():
            if isinstance(relevance, bool) or not isinstance(relevance, (int, np.integer)):
                raise DataError(f"{dataset}: qrels relevance of query {qid!r}, document {doc_id!r} is not an "
                                f"integer: {relevance!r}")
        judged[qid] = {doc_id: int(relevance) for doc_id, relevance in judgements.items()}
    if not judged:
        raise DataError(
            f"{dataset}: none of the {len(qrels)} queries in the qrels has retrieval results "
            f"({len(results)} result queries); query ids do not match"
        )
    missing = len(qrels) - len(judged)
    if missing:
        logger.warning("%s: %d of %d queries in the qrels have no results and are not evaluated",
                       dataset, missing, len(qrels))
    return judged


def _lower_case(table: Mapping[str, float]) -> dict[str, float]:
    renamed = {}
    for key, value in table.items():
        name, k = key.split("@")
        renamed[f"{_METRIC_NAMES[name]}@{k}"] = float(value)
    return renamed
