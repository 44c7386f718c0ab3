"""Benchmark of ragcun.search.exact_search on a memory-mapped random corpus.

    python benchmarks/search.py [--n 1000000 --queries 1000 --dim 384 --k 100]

Writes N random float32 vectors to a memmap file in a temporary folder (in a child process, so that this
process's peak RSS only reflects the search), runs exact_search over it, and reports:

- queries/s and corpus vectors scored per second;
- peak memory: ``ru_maxrss`` (all resident pages, including the memmap's page-cache pages, which the kernel
  can drop at will) and the peak of anonymous resident memory (``RssAnon``, sampled every few ms), which is
  what the streaming actually allocates;
- the theoretical size of the full query x corpus score matrix that a non-streaming search would allocate;
- an extrapolation of time and memory to MS MARCO passage ranking (8.8M passages, 768-d, 6,980 dev queries).
"""

from __future__ import annotations

import argparse
import multiprocessing
import resource
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import torch

from ragcun.search import exact_search

MSMARCO_PASSAGES = 8_841_823
MSMARCO_DIM = 768
MSMARCO_DEV_QUERIES = 6_980
_WRITE_ROWS = 100_000


def write_corpus(path: str, n: int, dim: int, seed: int) -> None:
    """Write n x dim standard-normal float32 rows to ``path`` block by block (bounded memory)."""
    rng = np.random.default_rng(seed)
    with open(path, "wb") as handle:
        for start in range(0, n, _WRITE_ROWS):
            rng.standard_normal((min(_WRITE_ROWS, n - start), dim), dtype=np.float32).tofile(handle)


def resident_kib(field: str) -> int:
    """A field of /proc/self/status in KiB (Linux), e.g. RssAnon."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


class PeakSampler(threading.Thread):
    """Samples a /proc/self/status field until stopped and keeps the maximum."""

    def __init__(self, field: str, interval_s: float = 0.005) -> None:
        super().__init__(daemon=True)
        self.field, self.interval_s = field, interval_s
        self.peak_kib = resident_kib(field)
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.is_set():
            self.peak_kib = max(self.peak_kib, resident_kib(self.field))
            time.sleep(self.interval_s)

    def stop(self) -> int:
        self._stop_event.set()
        self.join()
        self.peak_kib = max(self.peak_kib, resident_kib(self.field))
        return self.peak_kib


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def gib(num_bytes: float) -> str:
    return f"{num_bytes / 2**30:.2f} GiB"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000, help="corpus vectors")
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--dim", type=int, default=384)
    parser.add_argument("--k", type=int, default=100)
    parser.add_argument("--score", default="cosine", choices=["cosine", "dot", "euclidean"])
    parser.add_argument("--chunk-size", type=int, default=50_000)
    parser.add_argument("--batch-size", type=int, default=1024)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="ragcun-search-bench-") as folder:
        path = str(Path(folder) / "corpus.f32")
        started = time.perf_counter()
        writer = multiprocessing.get_context("spawn").Process(
            target=write_corpus, args=(path, args.n, args.dim, args.seed)
        )
        writer.start()
        writer.join()
        if writer.exitcode != 0:
            raise SystemExit(f"writing the corpus failed (exit code {writer.exitcode})")
        print(f"corpus: {args.n:,} x {args.dim} float32 memmap ({gib(args.n * args.dim * 4)}), "
              f"written in {time.perf_counter() - started:.1f} s")

        corpus = np.memmap(path, dtype=np.float32, mode="r", shape=(args.n, args.dim))
        queries = np.random.default_rng(args.seed + 1).standard_normal((args.queries, args.dim), dtype=np.float32)
        baseline_anon = resident_kib("RssAnon")
        sampler = PeakSampler("RssAnon")
        sampler.start()
        cpu_before = _cpu_seconds()
        started = time.perf_counter()
        indices, _ = exact_search(queries, corpus, k=args.k, score=args.score, chunk_size=args.chunk_size,
                                  batch_size=args.batch_size)
        elapsed = time.perf_counter() - started
        cpu = _cpu_seconds() - cpu_before
        peak_anon = sampler.stop()
        assert indices.shape == (args.queries, min(args.k, args.n))

    peak_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    extra_anon = (peak_anon - baseline_anon) * 1024
    full_matrix = args.queries * args.n * 4
    block = min(args.batch_size, args.queries) * min(args.chunk_size, args.n) * 4
    print(f"search: {args.queries:,} queries, k={args.k}, {args.score}, chunk {args.chunk_size:,}, "
          f"batch {args.batch_size:,}, torch threads {torch.get_num_threads()}")
    print(f"  time {elapsed:.1f} s = {args.queries / elapsed:.1f} queries/s "
          f"({args.queries * args.n / elapsed / 1e6:.1f} M query-document scores/s); "
          f"CPU time {cpu:.1f} s (a busy machine shows wall >> CPU / threads)")
    print(f"  peak RSS (ru_maxrss, incl. memmap page cache): {gib(peak_rss * 1024)}")
    print(f"  peak anonymous RSS: {gib(peak_anon * 1024)} (+{gib(extra_anon)} during the search; "
          f"one score block batch x chunk = {gib(block)})")
    print(f"  full score matrix (queries x corpus float32) would be {gib(full_matrix)}: "
          f"{full_matrix / max(extra_anon, 1):.1f}x the search's extra memory")

    # Scoring cost is proportional to queries x corpus x dim (the matmul dominates); the streaming memory
    # depends on batch x chunk (scores) and chunk x dim (one corpus chunk), not on the corpus size.
    seconds_per_unit = elapsed / (args.queries * args.n * args.dim)
    msmarco_seconds = seconds_per_unit * MSMARCO_DEV_QUERIES * MSMARCO_PASSAGES * MSMARCO_DIM
    msmarco_extra = extra_anon + args.chunk_size * (MSMARCO_DIM - args.dim) * 4 * 2
    print(f"extrapolation to MS MARCO ({MSMARCO_PASSAGES:,} passages, {MSMARCO_DIM}-d, "
          f"{MSMARCO_DEV_QUERIES:,} dev queries) on this machine:")
    print(f"  time ~{msmarco_seconds / 3600:.1f} h "
          f"({MSMARCO_DEV_QUERIES / msmarco_seconds:.2f} queries/s)")
    print(f"  memory ~{gib(msmarco_extra)} extra (same batch/chunk) vs a full score matrix of "
          f"{gib(MSMARCO_DEV_QUERIES * MSMARCO_PASSAGES * 4)}; corpus memmap on disk "
          f"{gib(MSMARCO_PASSAGES * MSMARCO_DIM * 4)}")


if __name__ == "__main__":
    main()
