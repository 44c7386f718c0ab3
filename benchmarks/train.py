"""Training throughput of ragcun.training.Trainer: frozen base (heads on cached vectors) vs full fine-tuning.

    python benchmarks/train.py [--quick] [--model minilm|mpnet-size] [--pretrained]
                               [--mixed-precision no|bf16] [--batch-size N] [--steps N] [--threads N]

Both modes train the ``isotropic_predictor`` architecture of the repository's params.yaml (shared head +
MLP predictor, its lambdas and isotropy loss) with the real Trainer (Accelerate, AdamW over the lr_head /
lr_base parameter groups, clipping, the linear schedule):

(a) frozen base: the heads alone, fed from an in-memory ``EmbeddingTable`` of random unit vectors of the base
    dimension, exactly as a frozen-base run reads the embed stage's cache;
(b) full fine-tuning: ``RetrievalModel(heads, encoder)`` with ``TextSource(texts=...)``, so every step
    tokenises the texts and runs the encoder forward and backward.

The encoder is a randomly initialised BertModel built from a config (nothing is downloaded): ``minilm`` has
all-MiniLM-L6-v2's shape (hidden 384, 6 layers, 12 heads, intermediate 1536; ``--pretrained`` loads the real
bundled weights instead, same cost), ``mpnet-size`` has all-mpnet-base-v2's (hidden 768, 12 layers, 12 heads,
intermediate 3072, max_seq_length 384). MPNet is a BERT-shaped transformer (same layer count, widths and
attention; only its relative position bias differs), so a BERT of that shape has the same cost profile.
Both use the all-MiniLM-L6-v2 WordPiece tokenizer.

Examples are synthetic: random whole-word vocabulary entries (one WordPiece token each), queries ~8 words and
passages ~60 words as in MS MARCO, each example = query + positive + ``--negatives`` negatives (4 by
default). One example/s below counts all of those texts. After one untimed warm-up step, a fixed number of
optimiser steps is timed (frozen mode times ten times as many, because its steps are so short); the end of
each step is taken after the loss has been read back, which synchronises the GPU.

Peak memory is torch.cuda.max_memory_allocated per mode on a GPU; on a CPU it is ru_maxrss, the peak resident
size of the whole process so far (imports included, and the fine-tuning figure includes the frozen run).
On a CPU shared with other work, torch's threads wait on one another and small steps slow down many times
over, so CPU figures are indicative only (``--threads 1`` avoids most of that).

On a GPU machine simply run it there (bf16 is the default on CUDA, via train.mixed_precision):

    python benchmarks/train.py --model mpnet-size --batch-size 64 --steps 30
"""

from __future__ import annotations

import argparse
import gc
import os
import random
import resource
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TQDM_DISABLE", "1")  # the Trainer's progress bars would interleave with the table

import numpy as np  # noqa: E402
import torch  # noqa: E402
import yaml  # noqa: E402

from ragcun.config import ResolvedArchitecture, parse_params  # noqa: E402
from ragcun.embedding_store import EmbeddingTable  # noqa: E402
from ragcun.encoder import BaseEncoder, EncoderSettings, resolve_model_path  # noqa: E402
from ragcun.heads import RetrievalHeads  # noqa: E402
from ragcun.model import RetrievalModel, heads_spec  # noqa: E402
from ragcun.training import TextSource, Trainer  # noqa: E402
from ragcun.training_data import DevQuery, Example  # noqa: E402

PARAMS_FILE = Path(__file__).resolve().parents[1] / "params.yaml"
ARCHITECTURE = "isotropic_predictor"
MINILM_ID = "sentence-transformers/all-MiniLM-L6-v2"
QUERY_WORDS = (5, 11)  # uniform range: mean 8 words, as MS MARCO queries
PASSAGE_WORDS = (40, 80)  # mean 60 words, as MS MARCO passages
FROZEN_STEP_FACTOR = 10


@dataclass(frozen=True)
class EncoderShape:
    label: str
    hidden: int
    layers: int
    heads: int
    intermediate: int
    max_seq_length: int


SHAPES = {
    "minilm": EncoderShape("all-MiniLM-L6-v2 shape", 384, 6, 12, 1536, 256),
    "mpnet-size": EncoderShape("all-mpnet-base-v2 shape", 768, 12, 12, 3072, 384),
}


@dataclass
class Measurement:
    mode: str
    model: str
    precision: str
    device: str
    batch_size: int
    steps: int
    seconds: float
    peak_memory_bytes: int

    @property
    def examples_per_second(self) -> float:
        return self.batch_size * self.steps / self.seconds


class StepTimer(Trainer):
    """A Trainer that records when each optimiser step ends.

    ``_log_step`` is the Trainer's per-optimiser-step hook; it runs after the step's losses were converted to
    Python floats, which waits for the device, so the timestamps bracket complete steps.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.step_ends: list[float] = []

    def _log_step(  # type: ignore[override]  # an instance method where the Trainer has a staticmethod
        self, live: Any, step: int, values: dict[str, float], scheduler: Any
    ) -> None:
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        self.step_ends.append(time.perf_counter())

    def timed_seconds(self) -> float:
        """Seconds from the end of the warm-up step to the end of the last step."""
        return self.step_ends[-1] - self.step_ends[0]


# ---------------------------------------------------------------- synthetic data


def word_pool(tokenizer: Any) -> list[str]:
    """Alphabetic whole-word vocabulary entries, so each synthetic word is one WordPiece token."""
    return sorted(w for w in tokenizer.get_vocab() if w.isascii() and w.isalpha() and len(w) >= 3)


def synthetic_texts(examples: int, negatives: int, words: list[str], seed: int) -> tuple[list[Example], dict[str, str]]:
    """`examples` examples, each with its own query, positive and negatives, and the text behind every key."""
    rng = random.Random(seed)

    def text(length_range: tuple[int, int]) -> str:
        return " ".join(rng.choices(words, k=rng.randint(*length_range)))

    texts: dict[str, str] = {}
    result = []
    for i in range(examples):
        query, positive = f"q/{i}", f"d/{i}-pos"
        negative_keys = tuple(f"d/{i}-neg{j}" for j in range(negatives))
        texts[query] = text(QUERY_WORDS)
        for key in (positive, *negative_keys):
            texts[key] = text(PASSAGE_WORDS)
        result.append(Example(query=query, positive=positive, negatives=negative_keys))
    return result, texts


def tiny_dev_set(examples: list[Example]) -> list[DevQuery]:
    """One dev query re-ranking its own example's documents: the Trainer scores dev once per epoch (untimed)."""
    first = examples[0]
    return [DevQuery(query=first.query, positives=(first.positive,), candidates=first.negatives)]


def random_table(keys: list[str], dimension: int, seed: int) -> EmbeddingTable:
    """Unit-length random vectors standing in for the frozen base's cached embeddings."""
    vectors = np.random.default_rng(seed).standard_normal((len(keys), dimension), dtype=np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return EmbeddingTable(ids=keys, vectors=vectors, meta={"name": "benchmark", "model": "random"})


def mean_tokens(tokenizer: Any, texts: list[str]) -> float:
    return float(np.mean([len(ids) for ids in tokenizer(texts[:200])["input_ids"]]))


# ---------------------------------------------------------------- models and settings


def load_tokenizer() -> Any:
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(resolve_model_path(MINILM_ID))


def build_encoder(model: str, pretrained: bool, tokenizer: Any) -> BaseEncoder:
    if pretrained:
        return BaseEncoder.from_pretrained(MINILM_ID)
    from transformers import BertConfig, BertModel

    shape = SHAPES[model]
    config = BertConfig(
        vocab_size=tokenizer.vocab_size,
        hidden_size=shape.hidden,
        num_hidden_layers=shape.layers,
        num_attention_heads=shape.heads,
        intermediate_size=shape.intermediate,
        max_position_embeddings=512,
    )
    settings = EncoderSettings(pooling="mean", normalize=True, max_seq_length=shape.max_seq_length)
    return BaseEncoder(BertModel(config, add_pooling_layer=False), tokenizer, settings, name=f"random {model}")


def architecture(batch_size: int, precision: str, freeze_base: bool) -> ResolvedArchitecture:
    """The repository's isotropic_predictor, trained for one epoch at the benchmark's batch size."""
    raw = yaml.safe_load(PARAMS_FILE.read_text(encoding="utf-8"))
    raw.setdefault("train", {}).update(
        batch_size=batch_size, mixed_precision=precision, freeze_base=freeze_base, epochs=1
    )
    return parse_params(raw, source=str(PARAMS_FILE)).architecture(ARCHITECTURE)


def reset_peak_memory() -> None:
    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()


def peak_memory_bytes() -> int:
    if torch.cuda.is_available():
        return int(torch.cuda.max_memory_allocated())
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux


def run_mode(
    resolved: ResolvedArchitecture, model: RetrievalModel, examples: list[Example], source: TextSource
) -> float:
    """Train one epoch over the examples and return the seconds of all steps after the first."""
    trainer = StepTimer(resolved, model, examples, tiny_dev_set(examples), source, live_dir=None, resume_dir=None)
    trainer.fit()
    return trainer.timed_seconds()


# ---------------------------------------------------------------- the two modes


def measure_frozen(args: argparse.Namespace, base_dim: int, examples: list[Example], precision: str,
                   device: str) -> Measurement:
    steps = args.steps * FROZEN_STEP_FACTOR
    subset = examples[: args.batch_size * (steps + 1)]
    keys = sorted({key for e in subset for key in (e.query, e.positive, *e.negatives)})
    reset_peak_memory()
    resolved = architecture(args.batch_size, precision, freeze_base=True)
    torch.manual_seed(resolved.params.seed)
    model = RetrievalModel(RetrievalHeads(heads_spec(resolved, base_dim)))
    seconds = run_mode(resolved, model, subset, TextSource(table=random_table(keys, base_dim, args.seed)))
    return Measurement("frozen base", args.model, precision, device, args.batch_size, steps, seconds,
                       peak_memory_bytes())


def measure_fine_tuning(args: argparse.Namespace, tokenizer: Any, examples: list[Example], texts: dict[str, str],
                        precision: str, device: str) -> Measurement:
    subset = examples[: args.batch_size * (args.steps + 1)]
    reset_peak_memory()
    resolved = architecture(args.batch_size, precision, freeze_base=False)
    torch.manual_seed(resolved.params.seed)
    encoder = build_encoder(args.model, args.pretrained, tokenizer)
    model = RetrievalModel(RetrievalHeads(heads_spec(resolved, encoder.dimension)), encoder)
    seconds = run_mode(resolved, model, subset, TextSource(texts=texts))
    return Measurement("full fine-tuning", args.model, precision, device, args.batch_size, args.steps, seconds,
                       peak_memory_bytes())


# ---------------------------------------------------------------- command line


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="few, small steps (a CPU smoke run)")
    parser.add_argument("--model", choices=sorted(SHAPES), default="minilm")
    parser.add_argument("--pretrained", action="store_true",
                        help="minilm only: the real bundled all-MiniLM-L6-v2 weights instead of a random init")
    parser.add_argument("--mixed-precision", choices=["no", "bf16"], default=None,
                        help="default: bf16 on CUDA, no on CPU")
    parser.add_argument("--batch-size", type=int, default=None, help="default: params.yaml train.batch_size "
                        "(8 with --quick)")
    parser.add_argument("--steps", type=int, default=None, help="timed fine-tuning steps after the warm-up "
                        "step (frozen mode: 10x as many); default 20, 2 with --quick")
    parser.add_argument("--negatives", type=int, default=4, help="negatives per example")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch CPU threads (default: torch's); 1 avoids thread thrashing on a busy CPU")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if args.pretrained and args.model != "minilm":
        parser.error("--pretrained is only available for --model minilm (the bundled weights)")
    if args.batch_size is None:
        params = yaml.safe_load(PARAMS_FILE.read_text(encoding="utf-8"))
        args.batch_size = 8 if args.quick else int(params["train"]["batch_size"])
    if args.steps is None:
        args.steps = 2 if args.quick else 20
    if args.batch_size < 2 or args.steps < 1 or args.negatives < 0 or (args.threads is not None and args.threads < 1):
        parser.error("need --batch-size >= 2, --steps >= 1, --negatives >= 0 and --threads >= 1")
    return args


def print_table(rows: list[Measurement]) -> None:
    memory_label = "peak GPU mem" if torch.cuda.is_available() else "peak RSS"
    header = f"{'mode':<17} {'model':<11} {'precision':<9} {'device':<6} {'batch':>5} {'steps':>5} " \
             f"{'examples/s':>11} {memory_label:>13}"
    print(header)
    print("-" * len(header))
    for row in rows:
        print(f"{row.mode:<17} {row.model:<11} {row.precision:<9} {row.device:<6} {row.batch_size:>5} "
              f"{row.steps:>5} {row.examples_per_second:>11.1f} {row.peak_memory_bytes / 2**20:>9.0f} MiB")


def main() -> None:
    args = parse_args()
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    precision = args.mixed_precision or ("bf16" if device == "cuda" else "no")
    tokenizer = load_tokenizer()
    needed = args.batch_size * (args.steps * FROZEN_STEP_FACTOR + 1)
    examples, texts = synthetic_texts(needed, args.negatives, word_pool(tokenizer), args.seed)
    shape = SHAPES[args.model]
    weights = "bundled pretrained weights" if args.pretrained else "random init"
    where = torch.cuda.get_device_name() if device == "cuda" else f"CPU, torch threads: {torch.get_num_threads()}"
    print(f"{ARCHITECTURE} ({PARAMS_FILE.name}); encoder {shape.label}: hidden {shape.hidden}, {shape.layers} "
          f"layers, {shape.heads} heads, intermediate {shape.intermediate} ({weights}); {where}")
    queries = [texts[e.query] for e in examples]
    passages = [texts[e.positive] for e in examples]
    print(f"each example = 1 query + 1 positive + {args.negatives} negatives; mean tokens (with [CLS]/[SEP]): "
          f"query {mean_tokens(tokenizer, queries):.1f}, passage {mean_tokens(tokenizer, passages):.1f}")

    frozen = measure_frozen(args, shape.hidden, examples, precision, device)
    fine_tuned = measure_fine_tuning(args, tokenizer, examples, texts, precision, device)
    print()
    print_table([frozen, fine_tuned])
    ratio = frozen.examples_per_second / fine_tuned.examples_per_second
    print(f"\nfrozen / fine-tuned throughput: {ratio:.0f}x")


if __name__ == "__main__":
    main()
