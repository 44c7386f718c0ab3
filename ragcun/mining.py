"""BM25 hard-negative mining and BM25 dev candidates, on beir's plain-dict data model.

corpus {doc_id: {"title": str, "text": str}}, queries {query_id: text}, qrels {query_id: {doc_id: int}};
a document is positive for a query when its qrels grade is > 0. BM25 sees a document as
(title + " " + text).strip(), through the one tokenizer of ragcun.bm25.

Two conventions hold everywhere here:
- A document whose id equals the query id is never a result, a negative or a candidate (ArguAna stores each
  query as a corpus document with the same id; beir's evaluation drops such hits too).
- Only documents with a BM25 score above 0 count as retrieved. A document sharing no word with the query
  is no "hard" negative, and taking zero-score documents in index order would hand the same few documents to
  every query that matches little.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pytrec_eval
from tqdm.auto import tqdm

from ragcun.bm25 import BM25Index, tokenize
from ragcun.data.beir_layout import document_text
from ragcun.errors import ConfigError, DataError

# pytrec_eval builds one dict entry per (query, document): evaluate this many queries at a time.
_EVALUATION_CHUNK = 10_000
_PROGRESS_MIN_QUERIES = 10_000


def index_corpus(
    corpus: Mapping[str, Mapping[str, Any]],
    *,
    k1: float = 1.5,
    b: float = 0.75,
    epsilon: float = 0.25,
    dtype: str = "float32",
    show_progress: bool = False,
) -> tuple[BM25Index, list[str]]:
    """BM25 index of the corpus and the document ids in index order (corpus order)."""
    doc_ids = list(corpus)
    tokens = (tokenize(document_text(corpus[doc_id])) for doc_id in doc_ids)
    index = BM25Index(tokens, k1, b, epsilon, dtype=dtype, show_progress=show_progress)
    return index, doc_ids


def mine_negatives(
    index: BM25Index,
    doc_ids: Sequence[str],
    queries: Mapping[str, str],
    qrels: Mapping[str, Mapping[str, int]],
    *,
    top_k: int,
    rank_min: int,
    rank_max: int,
    hard_negatives: int,
    random_negatives: int,
    seed: int,
    n_jobs: int = -1,
) -> tuple[list[dict[str, Any]], dict[str, float]]:
    """Training records with a fixed number of negatives per query, and flat statistics.

    For each qrels query with a positive (in qrels order): the BM25 top_k of its text, positives removed,
    ranked 1, 2, ... ; hard negatives are drawn without replacement from ranks rank_min..rank_max (inclusive)
    and kept in rank order; random negatives are drawn uniformly from the corpus minus the positives, the query's
    own id and the hard negatives. Every record has hard_negatives + random_negatives negatives: a window with
    too few documents is topped up with extra random ones, and the query is counted as short. Each query draws
    from its own generator, seeded by (seed, query id), so records do not depend on n_jobs or query order.

    Statistics: queries (records written), queries_without_positives (skipped), negatives_per_query,
    hard_negatives_per_query (mean actually taken), queries_without_hard_negatives,
    queries_short_of_hard_negatives (fewer than asked, those without any included), bm25_recall@{top_k},
    bm25_mrr@10, bm25_ndcg@10 (BM25 quality on these queries, by pytrec_eval) and seconds.
    """
    started = time.perf_counter()
    _check_counts(
        top_k=top_k,
        rank_min=rank_min,
        rank_max=rank_max,
        hard_negatives=hard_negatives,
        random_negatives=random_negatives,
        seed=seed,
    )
    # rank_min <= rank_max <= top_k and at least one negative: checked once, by config.MiningConfig
    positions = _positions(index, doc_ids)
    targets, without_positives = _targets(queries, qrels, positions)
    rankings = _rankings(index, positions, queries, [qid for qid, _ in targets], top_k, n_jobs)
    negatives_per_query = hard_negatives + random_negatives
    records: list[dict[str, Any]] = []
    hard_taken = np.zeros(len(targets), dtype=np.int64)
    progress = tqdm(
        zip(targets, rankings),
        total=len(targets),
        desc="mining",
        unit="query",
        disable=len(targets) < _PROGRESS_MIN_QUERIES,
    )
    for number, ((qid, positives), ranking) in enumerate(progress):
        excluded = {positions[doc_id] for doc_id in positives}
        own = positions.get(qid)
        if own is not None:
            excluded.add(own)
        window = [doc for doc in ranking.tolist() if doc not in excluded][rank_min - 1 : rank_max]
        rng = _query_generator(seed, qid)
        picks = rng.choice(len(window), size=min(hard_negatives, len(window)), replace=False)
        hard = [window[i] for i in np.sort(picks)]
        excluded.update(hard)
        extra = _sample_excluding(rng, index.n_docs, negatives_per_query - len(hard), excluded, qid)
        hard_taken[number] = len(hard)
        records.append(
            {
                "query_id": qid,
                "positive_ids": list(positives),
                "hard_negative_ids": [doc_ids[doc] for doc in hard],
                "random_negative_ids": [doc_ids[doc] for doc in extra],
            }
        )
    stats: dict[str, float] = {
        "queries": len(records),
        "queries_without_positives": without_positives,
        "negatives_per_query": negatives_per_query,
        "hard_negatives_per_query": float(hard_taken.mean()) if len(records) else 0.0,
        "queries_without_hard_negatives": int(np.count_nonzero(hard_taken == 0)) if hard_negatives else 0,
        "queries_short_of_hard_negatives": int(np.count_nonzero(hard_taken < hard_negatives)),
    }
    stats.update(_bm25_quality(targets, rankings, qrels, doc_ids, top_k))
    stats["seconds"] = time.perf_counter() - started
    return records, stats


def dev_candidates(
    index: BM25Index,
    doc_ids: Sequence[str],
    queries: Mapping[str, str],
    qrels: Mapping[str, Mapping[str, int]],
    *,
    k: int,
    n_jobs: int = -1,
) -> list[dict[str, Any]]:
    """Re-ranking candidates of held-out queries, for MRR@10 model selection during training.

    candidate_ids: the BM25 top k (score > 0, the query's own id excluded) in rank order; positives missing
    from it are appended at the end, each replacing the lowest-ranked non-positive while the list would exceed
    k. So a list has k entries, fewer when fewer documents match, more when a query has more than k positives.
    """
    _check_counts(k=k)
    positions = _positions(index, doc_ids)
    targets, _ = _targets(queries, qrels, positions)
    rankings = _rankings(index, positions, queries, [qid for qid, _ in targets], k, n_jobs)
    records = []
    for (qid, positives), ranking in zip(targets, rankings):
        positive_positions = [positions[doc_id] for doc_id in positives]
        positive_set = set(positive_positions)
        ranked = ranking.tolist()
        in_ranking = set(ranked)
        missing = [doc for doc in positive_positions if doc not in in_ranking]
        non_positive = [doc for doc in ranked if doc not in positive_set]
        n_drop = min(len(non_positive), max(0, len(ranked) + len(missing) - k))
        dropped = set(non_positive[len(non_positive) - n_drop :])
        kept = [doc for doc in ranked if doc not in dropped]
        records.append(
            {
                "query_id": qid,
                "positive_ids": list(positives),
                "candidate_ids": [doc_ids[doc] for doc in kept + missing],
            }
        )
    return records


def _check_counts(**values: int) -> None:
    for name, value in values.items():
        minimum = 1 if name in ("top_k", "k", "rank_min", "rank_max") else 0
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
            raise ConfigError(f"mining: {name} must be an integer >= {minimum}, got {value!r}")


def _positions(index: BM25Index, doc_ids: Sequence[str]) -> dict[str, int]:
    if len(doc_ids) != index.n_docs:
        raise DataError(f"mining: {len(doc_ids)} document ids for a BM25 index of {index.n_docs} documents")
    positions = {doc_id: position for position, doc_id in enumerate(doc_ids)}
    if len(positions) != len(doc_ids):
        raise DataError("mining: document ids are not unique")
    return positions


def _targets(
    queries: Mapping[str, str], qrels: Mapping[str, Mapping[str, int]], positions: Mapping[str, int]
) -> tuple[list[tuple[str, list[str]]], int]:
    """(query id, positive doc ids) of every qrels query with a positive, in qrels order; and how many had none."""
    targets = []
    without_positives = 0
    for qid, judged in qrels.items():
        if qid not in queries:
            raise DataError(f"qrels: query {qid!r} has no text in queries")
        if not isinstance(queries[qid], str):
            raise DataError(f"queries: query {qid!r} is not a string")
        positives = []
        for doc_id, grade in judged.items():
            if isinstance(grade, bool) or not isinstance(grade, (int, np.integer)):
                raise DataError(f"qrels: query {qid!r}, document {doc_id!r}: grade {grade!r} is not an integer")
            if grade > 0:
                if doc_id not in positions:
                    raise DataError(f"qrels: query {qid!r} has positive document {doc_id!r} that is not in the corpus")
                positives.append(doc_id)
        if positives:
            targets.append((qid, positives))
        else:
            without_positives += 1
    return targets, without_positives


def _rankings(
    index: BM25Index,
    positions: Mapping[str, int],
    queries: Mapping[str, str],
    qids: Sequence[str],
    depth: int,
    n_jobs: int,
) -> list[np.ndarray]:
    """Per query, the document positions of its BM25 top `depth` with a score > 0 and not its own id."""
    indices, scores = index.search([tokenize(queries[qid]) for qid in qids], depth + 1, n_jobs=n_jobs)
    rankings = []
    for qid, row, row_scores in zip(qids, indices, scores):
        keep = row_scores > 0
        own = positions.get(qid)
        if own is not None:
            keep &= row != own
        rankings.append(row[keep][:depth])
    return rankings


def _query_generator(seed: int, qid: str) -> np.random.Generator:
    """A generator that depends only on (seed, query id): stable across runs, orders and thread counts."""
    digest = int.from_bytes(hashlib.blake2b(qid.encode("utf-8"), digest_size=8).digest(), "little")
    return np.random.default_rng([seed, digest])


def _sample_excluding(
    rng: np.random.Generator, n_docs: int, count: int, excluded: set[int], qid: str
) -> list[int]:
    """`count` distinct documents drawn uniformly from range(n_docs) minus `excluded`."""
    available = n_docs - len(excluded)
    if count > available:
        raise DataError(f"mining: query {qid!r} needs {count} random negatives but only {available} documents remain")
    if count == 0:
        return []
    if 4 * count > available:  # few documents left: draw from the explicit list
        allowed = np.setdiff1d(np.arange(n_docs), np.fromiter(excluded, dtype=np.int64, count=len(excluded)))
        return rng.choice(allowed, size=count, replace=False).tolist()
    chosen: list[int] = []
    seen = set(excluded)
    while len(chosen) < count:  # rejection sampling: cheap when the excluded set is a small part of the corpus
        for doc in rng.integers(0, n_docs, size=2 * (count - len(chosen)) + 8).tolist():
            if doc not in seen:
                seen.add(doc)
                chosen.append(doc)
                if len(chosen) == count:
                    break
    return chosen


def _bm25_quality(
    targets: Sequence[tuple[str, list[str]]],
    rankings: Sequence[np.ndarray],
    qrels: Mapping[str, Mapping[str, int]],
    doc_ids: Sequence[str],
    top_k: int,
) -> dict[str, float]:
    """Macro recall@top_k, MRR@10 and nDCG@10 of the BM25 rankings, by pytrec_eval.

    Run scores are top_k - rank, so pytrec_eval ranks exactly as BM25 did (trec_eval breaks score ties by
    document id, not by our tie rule). A query with an empty ranking scores 0.
    """
    recall_key = f"recall_{top_k}"
    totals = {recall_key: 0.0, "recip_rank": 0.0, "ndcg_cut_10": 0.0}
    for start in range(0, len(targets), _EVALUATION_CHUNK):
        chunk = range(start, min(len(targets), start + _EVALUATION_CHUNK))
        judged = {targets[i][0]: {doc: int(grade) for doc, grade in qrels[targets[i][0]].items()} for i in chunk}
        runs = {
            targets[i][0]: {doc_ids[doc]: float(top_k - rank) for rank, doc in enumerate(rankings[i].tolist())}
            for i in chunk
        }
        full = pytrec_eval.RelevanceEvaluator(judged, {f"recall.{top_k}", "ndcg_cut.10"}).evaluate(runs)
        first_ten = {qid: dict(list(run.items())[:10]) for qid, run in runs.items()}
        reciprocal = pytrec_eval.RelevanceEvaluator(judged, {"recip_rank"}).evaluate(first_ten)
        for qid in judged:
            totals[recall_key] += full.get(qid, {}).get(recall_key, 0.0)
            totals["ndcg_cut_10"] += full.get(qid, {}).get("ndcg_cut_10", 0.0)
            totals["recip_rank"] += reciprocal.get(qid, {}).get("recip_rank", 0.0)
    count = max(1, len(targets))
    return {
        f"bm25_recall@{top_k}": totals[recall_key] / count,
        "bm25_mrr@10": totals["recip_rank"] / count,
        "bm25_ndcg@10": totals["ndcg_cut_10"] / count,
    }
