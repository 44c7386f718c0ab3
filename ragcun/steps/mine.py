"""The mine stage: BM25 hard and random negatives for training queries, BM25 candidates for dev queries."""

from __future__ import annotations

import time

from ragcun import paths
from ragcun.config import Params
from ragcun.data.beir_layout import load_corpus, load_qrels, load_queries
from ragcun.io import write_json, write_jsonl
from ragcun.mining import dev_candidates, index_corpus, mine_negatives


def run(params: Params) -> None:
    mining = params.mining
    started = time.perf_counter()
    corpus = load_corpus(paths.TRAIN_COLLECTION, "train")
    queries = load_queries(paths.TRAIN_COLLECTION, "train")
    train_qrels = load_qrels(paths.TRAIN_COLLECTION, "train", "train")
    dev_qrels = load_qrels(paths.TRAIN_COLLECTION, "dev", "train")
    index, doc_ids = index_corpus(
        corpus, k1=mining.k1, b=mining.b, epsilon=mining.epsilon, show_progress=len(corpus) > 100_000
    )
    records, stats = mine_negatives(
        index,
        doc_ids,
        queries,
        train_qrels,
        top_k=mining.top_k,
        rank_min=mining.rank_min,
        rank_max=mining.rank_max,
        hard_negatives=mining.hard_negatives,
        random_negatives=mining.random_negatives,
        seed=params.seed,
        n_jobs=mining.n_jobs,
    )
    dev = dev_candidates(index, doc_ids, queries, dev_qrels, k=mining.dev_candidates)
    write_jsonl(paths.MINED_TRAIN, records)
    write_jsonl(paths.MINED_DEV, dev)
    stats = dict(stats)
    stats["dev_queries"] = len(dev)
    stats["corpus_documents"] = len(doc_ids)
    stats["seconds_total"] = round(time.perf_counter() - started, 3)
    write_json(paths.MINING_METRICS, stats)
