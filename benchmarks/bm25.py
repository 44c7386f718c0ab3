"""Benchmark of ragcun.bm25.BM25Index against rank_bm25.BM25Okapi on generated corpora.

    python benchmarks/bm25.py [--quick] [--skip-1m] [--k 100]

Corpora: i.i.d. tokens from a Zipfian vocabulary (500K words, exponent 1.07), passage lengths ~ N(56, 15)
clipped to [8, 200]; queries: 6 tokens from the same distribution (so, like MS MARCO queries, most hold a
stopword-like frequent word). For each corpus size (5K and 200K documents; --quick: 5K and 50K):

- queries/s of BM25Index.search (n_jobs=-1, float32) over all queries and of rank_bm25 over a subset;
- the results on that subset, compared with rank_bm25: top-k sets (float32: equal up to documents whose float64
  scores differ by < 1e-6 relative at the k-th place), max relative score error, and a float64 index that must
  be bit-identical (indices and scores);
- build time and peak resident memory (RssAnon sampled every 5 ms: what the step allocates).

Then (unless --skip-1m or --quick) index build time, memory and search speed on 1M documents, and an
extrapolation to MS MARCO (8.8M passages, 500K training queries, 16 cores).
"""

from __future__ import annotations

import argparse
import os
import resource
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from rank_bm25 import BM25Okapi

from ragcun.bm25 import BM25Index, resolve_n_jobs

VOCABULARY = 500_000
EXPONENT = 1.07
MSMARCO_PASSAGES = 8_841_823
MSMARCO_QUERIES = 502_939
TARGET_CORES = 16
_CHUNK = 50_000


class Zipf:
    """Token generator: word i drawn with probability ~ 1 / (i + 1)^EXPONENT."""

    def __init__(self, seed: int) -> None:
        self.rng = np.random.default_rng(seed)
        weights = 1.0 / np.arange(1, VOCABULARY + 1) ** EXPONENT
        self.cumulative = np.cumsum(weights / weights.sum())
        self.words = np.array([f"w{i}" for i in range(VOCABULARY)], dtype=object)

    def tokens(self, count: int) -> np.ndarray:
        return np.minimum(np.searchsorted(self.cumulative, self.rng.random(count)), VOCABULARY - 1)

    def documents(self, n_docs: int) -> Iterator[list[str]]:
        """Passages generated chunk by chunk, so a big corpus never exists as one Python list."""
        for start in range(0, n_docs, _CHUNK):
            count = min(_CHUNK, n_docs - start)
            lengths = np.clip(self.rng.normal(56, 15, size=count).round().astype(np.int64), 8, 200)
            words = self.words[self.tokens(int(lengths.sum()))]
            offsets = np.concatenate([[0], np.cumsum(lengths)])
            for i in range(count):
                yield words[offsets[i] : offsets[i + 1]].tolist()

    def queries(self, n_queries: int, length: int = 6) -> list[list[str]]:
        return self.words[self.tokens(n_queries * length)].reshape(n_queries, length).tolist()


def rss_anon_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("RssAnon:"):
            return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # not Linux: the process peak instead


class PeakMemory:
    """Peak RssAnon growth (MiB) over a `with` block, sampled every 5 ms by a thread."""

    def __enter__(self) -> PeakMemory:
        self.base = self.peak = rss_anon_kib()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop.wait(0.005):
            self.peak = max(self.peak, rss_anon_kib())

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss_anon_kib())

    @property
    def mib(self) -> float:
        return (self.peak - self.base) / 1024


def index_bytes(index: BM25Index) -> int:
    postings = index._postings  # noqa: SLF001 - the benchmark reports the arrays' real size
    return postings.data.nbytes + postings.indices.nbytes + postings.indptr.nbytes + index.idf.nbytes


def compare(index64: BM25Index, reference: BM25Okapi, queries: list[list[str]], results: tuple, k: int) -> dict:
    """Agreement of float32 results and of a float64 index with rank_bm25 on the subset of queries."""
    indices, scores = results
    exact64, same_set, near_tie, wrong, max_relative = 0, 0, 0, 0, 0.0
    indices64, scores64 = index64.search(queries, k, n_jobs=1)
    for row, query in enumerate(queries):
        expected = reference.get_scores(query)
        top = np.lexsort((np.arange(expected.shape[0]), -expected))[: indices.shape[1]]
        exact64 += bool(np.array_equal(indices64[row], top) and np.array_equal(scores64[row], expected[top]))
        returned = indices[row]
        relative = np.abs(scores[row] - expected[returned]) / np.maximum(np.abs(expected[returned]), 1e-30)
        max_relative = max(max_relative, float(relative.max()))
        swapped = set(returned.tolist()) ^ set(top.tolist())
        kth = expected[top[-1]]
        if not swapped:
            same_set += 1
        elif all(abs(expected[doc] - kth) <= 1e-6 * abs(kth) for doc in swapped):
            near_tie += 1
        else:
            wrong += 1
    return {"rows": len(queries), "float64_identical": exact64, "float32_same_set": same_set,
            "float32_near_tie_swaps": near_tie, "wrong": wrong, "max_relative_error": max_relative}


def bench_corpus(n_docs: int, n_queries: int, n_reference: int, k: int, seed: int) -> dict:
    zipf = Zipf(seed)
    corpus = list(zipf.documents(n_docs))
    queries = zipf.queries(n_queries)
    subset = queries[:n_reference]
    tokens = sum(len(doc) for doc in corpus)

    with PeakMemory() as build_memory:
        started = time.perf_counter()
        index = BM25Index(corpus)
        build_seconds = time.perf_counter() - started
    index.search(queries[:64], k, n_jobs=1)  # warm-up: first-touch page faults, lazy imports
    with PeakMemory() as search_memory:
        started = time.perf_counter()
        results = index.search(queries, k, n_jobs=-1)
        ours = n_queries / (time.perf_counter() - started)
    started = time.perf_counter()
    index.search(queries, k, n_jobs=1)
    ours_one_thread = n_queries / (time.perf_counter() - started)
    started = time.perf_counter()
    reference = BM25Okapi(corpus)
    reference_build = time.perf_counter() - started
    started = time.perf_counter()
    for query in subset:
        reference.get_scores(query)
    theirs = n_reference / (time.perf_counter() - started)
    subset_results = (results[0][:n_reference], results[1][:n_reference])
    agreement = compare(BM25Index(corpus, dtype="float64"), reference, subset, subset_results, k)
    print(f"\n== {n_docs:,} documents ({tokens / n_docs:.1f} tokens/doc, {index.n_terms:,} terms,"
          f" {index.nnz:,} weights)")
    print(f"build: BM25Index {build_seconds:.1f} s (peak +{build_memory.mib:.0f} MiB,"
          f" index {index_bytes(index) / 2**20:.0f} MiB) | rank_bm25 {reference_build:.1f} s")
    print(f"search top-{k}: BM25Index {ours:,.0f} queries/s over {n_queries:,} queries on {resolve_n_jobs(-1)} threads"
          f" (peak +{search_memory.mib:.0f} MiB) | rank_bm25 {theirs:,.2f} queries/s over {n_reference}")
    print(f"speed ratio: {ours / theirs:,.0f}x ({ours_one_thread:,.0f} queries/s on 1 thread:"
          f" {ours_one_thread / theirs:,.0f}x per core; rank_bm25 is single-threaded)")
    print(f"agreement on {agreement['rows']} queries: float64 index bit-identical in {agreement['float64_identical']};"
          f" float32 same top-k set in {agreement['float32_same_set']}, ulp-level near-tie swaps in"
          f" {agreement['float32_near_tie_swaps']}, real differences in {agreement['wrong']};"
          f" max relative score error {agreement['max_relative_error']:.1e}")
    return {"ratio": ours / theirs, "ours": ours, "reference_docs_per_second": theirs * n_docs, "agreement": agreement}


def bench_build_1m(k: int, seed: int, n_queries: int, reference_docs_per_second: float) -> None:
    n_docs = 1_000_000
    zipf = Zipf(seed)
    with PeakMemory() as memory:
        started = time.perf_counter()
        index = BM25Index(zipf.documents(n_docs))
        build_seconds = time.perf_counter() - started
    queries = zipf.queries(n_queries)
    started = time.perf_counter()
    index.search(queries, k, n_jobs=-1)
    per_query_core = (time.perf_counter() - started) * resolve_n_jobs(-1) / n_queries
    size = index_bytes(index)
    print(f"\n== 1,000,000 documents (generated on the fly; the build time includes generation)")
    print(f"build: {build_seconds:.1f} s, peak +{memory.mib:,.0f} MiB, index {size / 2**20:,.0f} MiB"
          f" ({index.nnz:,} weights, {index.n_terms:,} terms)")
    print(f"search top-{k}: {n_queries / (per_query_core * n_queries / resolve_n_jobs(-1)):,.0f} queries/s"
          f" on {resolve_n_jobs(-1)} threads ({per_query_core * 1e3:.1f} ms per query per core)")
    scale = MSMARCO_PASSAGES / n_docs
    hours = MSMARCO_QUERIES * per_query_core * scale / TARGET_CORES / 3600
    print(f"\n== extrapolation to MS MARCO ({MSMARCO_PASSAGES:,} passages, {MSMARCO_QUERIES:,} queries,"
          f" {TARGET_CORES} cores), linear in corpus size")
    print(f"build: ~{build_seconds * scale / 60:.0f} min single-threaded; index ~{size * scale / 2**30:.1f} GiB float32"
          f" (~{size * scale * 1.5 / 2**30:.1f} GiB float64); peak at most ~{memory.mib * scale / 1024:.1f} GiB"
          f" (linear scaling overstates it: the per-chunk temporaries do not grow with the corpus)")
    reference_days = MSMARCO_QUERIES * MSMARCO_PASSAGES / reference_docs_per_second / 86400
    print(f"search: ~{per_query_core * scale * 1e3:.0f} ms per query per core -> ~{hours:.1f} h for all queries"
          f" (rank_bm25, single-threaded at its measured speed: ~{reference_days:,.0f} days)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="5K and 50K documents only, few rank_bm25 queries")
    parser.add_argument("--skip-1m", action="store_true", help="skip the 1M-document build")
    parser.add_argument("--k", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    print(f"{os.cpu_count()} CPUs, n_jobs=-1 -> {resolve_n_jobs(-1)} threads; k={args.k}")
    small = bench_corpus(5_000, 4_000, 30 if args.quick else 100, args.k, args.seed)
    if args.quick:
        large = bench_corpus(50_000, 1_000, 5, args.k, args.seed + 1)
    else:
        large = bench_corpus(200_000, 2_000, 10, args.k, args.seed + 1)
    print(f"\ntarget >= 100x on 5K: {'met' if small['ratio'] >= 100 else 'NOT met'} ({small['ratio']:,.0f}x);"
          f" larger corpus ratio higher: {'yes' if large['ratio'] > small['ratio'] else 'no'} ({large['ratio']:,.0f}x)")
    if not (args.quick or args.skip_1m):
        bench_build_1m(args.k, args.seed + 2, 200, large["reference_docs_per_second"])
    print(f"\nprocess peak RSS (ru_maxrss): {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MiB")
    if small["agreement"]["wrong"] or large["agreement"]["wrong"]:
        raise SystemExit("results differ from rank_bm25 beyond float32 near-ties")


if __name__ == "__main__":
    main()
