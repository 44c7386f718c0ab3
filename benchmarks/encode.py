"""Benchmarks of the frozen-base embedding path (issue 11).

    python benchmarks/encode.py ratio  [--texts 2000 --repeats 3]     # CPU: pipeline encoder vs SentenceTransformer
    python benchmarks/encode.py table  [--rows 1000000 --dim 768]     # peak memory writing + reading a table
    python benchmarks/encode.py gpu    [--texts 20000]                # GPU, bf16: MiniLM and MPNet shapes

``ratio`` encodes the same sample passages with the pipeline's encoder (`BaseEncoder.encode`, what the embed
stages run) and with `SentenceTransformer.encode` (the reference) of the same model, alternating the two
``--repeats`` times in one process so that machine noise hits both; it reports passages/s of each, the ratio of
medians (pipeline / reference, the issue asks for ≥ 1.0) and the largest difference between their vectors.

``table`` writes a ``--rows`` × ``--dim`` float32 table with `write_table` from generated batches (as an embed
stage streams the encoder's output) and then reads it back as training and evaluation do (memory-mapped
`EmbeddingTable.load`, `rows()` in batches, one full pass), each in its own child process, and reports each
child's peak anonymous RSS (what it allocates; the memory map's page cache is the kernel's to drop) and
`ru_maxrss`.

``gpu`` encodes sample passages (cycled to ``--texts``) with randomly initialised encoders of the
all-MiniLM-L6-v2 shape (6 layers, 384-d) and the all-mpnet-base-v2 shape (12 layers, 768-d) in bf16 autocast,
length-sorted batches padded to each batch's longest text, and reports passages/s (weights do not change the
speed, so no download is needed). Run it whenever a GPU is lent.
"""

from __future__ import annotations

import argparse
import multiprocessing
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from search import PeakSampler, gib, resident_kib  # noqa: E402  (benchmarks/ is not a package)

MODEL = "sentence-transformers/all-MiniLM-L6-v2"


def sample_passages(count: int) -> list[str]:
    """``count`` passages of the embedded sample's training collection (cycled if it has fewer), BEIR text."""
    from ragcun.data.beir_layout import document_text
    from ragcun.data.sample import build_sample

    corpus = build_sample().train.corpus
    texts = [document_text(document) for document in corpus]
    return [texts[i % len(texts)] for i in range(count)]


def ratio(args: argparse.Namespace) -> None:
    import torch
    from sentence_transformers import SentenceTransformer

    from ragcun.encoder import BaseEncoder, resolve_model_path

    texts = sample_passages(args.texts)
    pipeline = BaseEncoder.from_pretrained(MODEL)
    reference = SentenceTransformer(resolve_model_path(MODEL), device="cpu")
    pipeline_seconds: list[float] = []
    reference_seconds: list[float] = []
    pipeline_cpu: list[float] = []
    reference_cpu: list[float] = []
    if args.threads:
        torch.set_num_threads(args.threads)
    for repeat in range(args.repeats):
        # Alternate which goes first, so that a load change on a shared machine does not favour one side.
        for side in ("pipeline", "reference") if repeat % 2 == 0 else ("reference", "pipeline"):
            started, cpu = time.perf_counter(), time.process_time()
            if side == "pipeline":
                ours = pipeline.encode(texts, batch_size=args.batch_size, progress=False)
                pipeline_seconds.append(time.perf_counter() - started)
                pipeline_cpu.append(time.process_time() - cpu)
            else:
                theirs = reference.encode(texts, batch_size=args.batch_size, convert_to_numpy=True,
                                          show_progress_bar=False)
                reference_seconds.append(time.perf_counter() - started)
                reference_cpu.append(time.process_time() - cpu)
    ours_rate = len(texts) / statistics.median(pipeline_seconds)
    theirs_rate = len(texts) / statistics.median(reference_seconds)
    print(f"{len(texts):,} sample passages, batch {args.batch_size}, torch threads {torch.get_num_threads()}, "
          f"{args.repeats} alternating repeats (medians)")
    for label, rate, seconds, cpu_seconds in (
        ("pipeline BaseEncoder.encode:       ", ours_rate, pipeline_seconds, pipeline_cpu),
        ("SentenceTransformer.encode (ref.): ", theirs_rate, reference_seconds, reference_cpu),
    ):
        print(f"  {label} {rate:8.1f} passages/s  (wall {', '.join(f'{s:.1f}' for s in seconds)} s; "
              f"CPU {', '.join(f'{s:.1f}' for s in cpu_seconds)} s)")
    print(f"  ratio pipeline / reference: {ours_rate / theirs_rate:.3f} by wall time, "
          f"{statistics.median(reference_cpu) / statistics.median(pipeline_cpu):.3f} by CPU time (goal >= 1.0)")
    print(f"  largest |difference| between their vectors: {np.abs(ours - theirs).max():.2e}")


def _batches(rows: int, dim: int, batch: int) -> Iterator[np.ndarray]:
    rng = np.random.default_rng(0)
    for start in range(0, rows, batch):
        yield rng.standard_normal((min(batch, rows - start), dim), dtype=np.float32)


def _write_child(folder: str, rows: int, dim: int, batch: int, queue: multiprocessing.Queue) -> None:
    from ragcun.embedding_store import write_table

    sampler = PeakSampler("RssAnon")
    sampler.start()
    started = time.perf_counter()
    ids = [f"d/{row}" for row in range(rows)]
    write_table(folder, ids, _batches(rows, dim, batch), dim, {"name": "benchmark"})
    queue.put(("write", time.perf_counter() - started, sampler.stop(),
               resource.getrusage(resource.RUSAGE_SELF).ru_maxrss))


def _read_child(folder: str, rows: int, batch: int, queue: multiprocessing.Queue) -> None:
    from ragcun.embedding_store import EmbeddingTable

    sampler = PeakSampler("RssAnon")
    sampler.start()
    started = time.perf_counter()
    table = EmbeddingTable.load(folder)
    order = np.random.default_rng(1).permutation(rows)  # training looks rows up in shuffled batches
    total = 0.0
    for start in range(0, rows, batch):
        total += float(table.rows([table.ids[i] for i in order[start : start + batch]]).sum())
    assert np.isfinite(total)
    queue.put(("read", time.perf_counter() - started, sampler.stop(),
               resource.getrusage(resource.RUSAGE_SELF).ru_maxrss))


def table(args: argparse.Namespace) -> None:
    context = multiprocessing.get_context("spawn")
    size = args.rows * args.dim * 4
    print(f"table {args.rows:,} x {args.dim} float32 = {gib(size)} on disk, batches of {args.batch_size:,} rows; "
          f"a fresh Python process holds ~{gib(resident_kib('RssAnon') * 1024)} anonymous memory with numpy loaded")
    with tempfile.TemporaryDirectory(prefix="ragcun-table-bench-") as root:
        folder = str(Path(root) / "table")
        for target, extra in ((_write_child, (args.rows, args.dim, args.batch_size)),
                              (_read_child, (args.rows, args.batch_size))):
            queue = context.Queue()
            child = context.Process(target=target, args=(folder, *extra, queue))
            child.start()
            phase, seconds, peak_anon, max_rss = queue.get()
            child.join()
            if child.exitcode != 0:
                raise SystemExit(f"{phase} failed (exit code {child.exitcode})")
            print(f"  {phase:5s} {seconds:6.1f} s  peak anonymous RSS {gib(peak_anon * 1024)} "
                  f"({100 * peak_anon * 1024 / size:.0f} % of the table)  ru_maxrss {gib(max_rss * 1024)} "
                  "(incl. memory-map page cache)")


def gpu(args: argparse.Namespace) -> None:
    import torch
    from transformers import AutoTokenizer, BertConfig, BertModel, MPNetConfig, MPNetModel

    from ragcun.encoder import BaseEncoder, EncoderSettings, resolve_model_path

    if not torch.cuda.is_available():
        raise SystemExit("no CUDA device: the gpu benchmark needs one (the CPU figures come from `ratio`)")
    texts = sample_passages(args.texts)
    shapes = {
        "all-MiniLM-L6-v2 shape (6 x 384)": BertModel(BertConfig(
            hidden_size=384, num_hidden_layers=6, num_attention_heads=12, intermediate_size=1536,
            vocab_size=30522)),
        "all-mpnet-base-v2 shape (12 x 768)": MPNetModel(MPNetConfig(vocab_size=30527)),
    }
    # The bundled MiniLM tokenizer stands in for both: token counts, not vocabularies, set the cost.
    tokenizer = AutoTokenizer.from_pretrained(resolve_model_path(MODEL))
    for name, model in shapes.items():
        encoder = BaseEncoder(model, tokenizer, EncoderSettings("mean", True, 384), name=name)
        for precision in ("bf16", "no"):
            list(encoder.encode_in_order(texts[: 4 * args.batch_size], batch_size=args.batch_size, device="cuda",
                                         precision=precision, progress=False))  # warm-up
            torch.cuda.synchronize()
            started = time.perf_counter()
            encoder.encode(texts, batch_size=args.batch_size, device="cuda", precision=precision, progress=False)
            torch.cuda.synchronize()
            seconds = time.perf_counter() - started
            print(f"  {name}, {precision:4s}: {len(texts) / seconds:9.0f} passages/s ({len(texts):,} passages, "
                  f"batch {args.batch_size}, {torch.cuda.get_device_name()})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    ratio_parser = commands.add_parser("ratio", help="CPU: pipeline encoder vs SentenceTransformer.encode")
    ratio_parser.add_argument("--texts", type=int, default=2000)
    ratio_parser.add_argument("--repeats", type=int, default=3)
    ratio_parser.add_argument("--batch-size", type=int, default=128)
    ratio_parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    table_parser = commands.add_parser("table", help="peak memory writing and reading an embedding table")
    table_parser.add_argument("--rows", type=int, default=1_000_000)
    table_parser.add_argument("--dim", type=int, default=768)
    table_parser.add_argument("--batch-size", type=int, default=4096)
    gpu_parser = commands.add_parser("gpu", help="GPU bf16 passages/s of the MiniLM and MPNet shapes")
    gpu_parser.add_argument("--texts", type=int, default=20_000)
    gpu_parser.add_argument("--batch-size", type=int, default=256)
    args = parser.parse_args()
    {"ratio": ratio, "table": table, "gpu": gpu}[args.command](args)


if __name__ == "__main__":
    main()
