"""Training one architecture: Accelerate for devices, mixed precision, accumulation and data parallelism;
DVCLive for the logs; dev MRR@10 for model selection; per-epoch resumable state.

Data parallelism (N processes, README "Running on GPUs"): every epoch has one seeded order of the examples,
whatever N, cut into global batches of ``train.batch_size``; Accelerate's dataloader (``split_batches``) gives
process r rows r*B/N .. (r+1)*B/N - 1 of each, the model is wrapped in DDP by ``accelerator.prepare``, and the
losses see the gathered global batch (ragcun/losses/distributed.py), so N processes take the one-process
steps. The main process alone scores the dev queries, logs, saves the resume state and returns the outcome to
write; the others wait for it at the end of each epoch.

The defects of the earlier scripts are avoided on purpose: the schedule steps once per optimiser step (so
warmup finishes), every configured learning rate reaches its parameter group, the best epoch is chosen by a
retrieval metric on held-out dev queries (never by the loss), and a frozen base is never run in train mode
(it is not run at all: its embeddings come from the cache).
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import math
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch import nn
from tqdm.auto import tqdm

from ragcun.config import ResolvedArchitecture
from ragcun.diagnostics import LOSS_TERMS
from ragcun.embedding_store import CombinedTable, EmbeddingTable
from ragcun.errors import ConfigError, TrainingDivergedError
from ragcun.evaluation import evaluate_results
from ragcun.launch import per_process_batch
from ragcun.losses import LossWeights, combine_losses
from ragcun.losses.distributed import global_batch, touching_every_output
from ragcun.model import RetrievalModel
from ragcun.scoring import pairwise_scores
from ragcun.training_data import DevQuery, Example, split_key
from ragcun.training_summary import EXAMPLES, STEPS, SeedSummary

logger = logging.getLogger(__name__)


@dataclass
class TextSource:
    """Where the base embeddings of keyed texts come from: the frozen-base cache, or the encoder."""

    table: EmbeddingTable | CombinedTable | None = None
    texts: dict[str, str] | None = None

    def features(self, model: RetrievalModel, keys: Sequence[str], device: torch.device) -> Any:
        if self.table is not None:
            return torch.from_numpy(self.table.rows(keys)).to(device)
        if self.texts is None or model.encoder is None:
            raise ValueError("a TextSource needs either a cache table or texts and an encoder")
        features = model.encoder.tokenize([self.texts[key] for key in keys])
        return {name: value.to(device) for name, value in features.items()}


def weighted_shares(losses: dict[str, float], weights: LossWeights) -> dict[str, float]:
    """``share_<term>`` = lambda_term * loss_term / sum over terms of lambda * loss, for every term present.

    A term's share of the total is what shows whether it acts at all: a term at 0.1 % of the total moves
    nothing, whatever its lambda says. Terms with weight 0 have share 0; losses are non-negative, so the
    shares sum to 1.
    """
    weighted = {name: getattr(weights, name) * losses[name] for name in LOSS_TERMS if name in losses}
    total = sum(weighted.values())
    return {f"share_{name}": (value / total if total > 0 else 0.0) for name, value in weighted.items()}


CALIBRATION_TEXTS = 4096


@torch.no_grad()
def calibration_features(
    model: RetrievalModel, examples: Sequence[Example], source: TextSource, device: torch.device,
    limit: int = CALIBRATION_TEXTS, batch_size: int = 256,
) -> torch.Tensor:
    """Base embeddings [n <= limit, in_dim] of the first distinct texts of the training examples (queries,
    positives and negatives in example order), for ``RetrievalHeads.calibrate``. The encoder, if any, runs
    in eval mode (no dropout), as at retrieval."""
    keys: dict[str, None] = {}
    for example in examples:
        for key in (example.query, example.positive, *example.negatives):
            keys.setdefault(key)
        if len(keys) >= limit:
            break
    chosen = list(keys)[:limit]
    was_training = model.training
    model.eval()
    parts = [
        model.base_embeddings(source.features(model, chosen[i : i + batch_size], device)).float()
        for i in range(0, len(chosen), batch_size)
    ]
    model.train(was_training)
    return torch.cat(parts)


@dataclass
class TrainingOutcome:
    """What a training run hands back to write. Only the main process (``writer``) has metrics, best state
    and history; the other processes of a data-parallel run return empty ones and write nothing."""

    metrics: dict[str, float]
    best_state: dict[str, torch.Tensor]
    history: list[dict[str, float]] = field(default_factory=list)
    writer: bool = True


def process_state() -> Any:
    """Accelerate's view of this process (rank, number of processes), on the device Trainer.fit uses."""
    from accelerate import PartialState

    return PartialState(cpu=not torch.cuda.is_available())


def loss_weights(architecture: ResolvedArchitecture) -> LossWeights:
    lambdas = architecture.lambdas
    return LossWeights(
        contrastive=lambdas["lambda_contrastive"],
        isotropy=lambdas["lambda_isotropy"],
        predictive=lambdas["lambda_predictive"],
        reg=lambdas["lambda_reg"],
        residual=lambdas["lambda_residual"],
    )


def parameter_groups(model: RetrievalModel, lr_head: float, lr_base: float, weight_decay: float) -> list[dict]:
    """Heads at lr_head, a trainable encoder at lr_base; no weight decay on biases and norms (as BERT)."""
    groups: list[dict] = []
    for module, lr in ((model.heads, lr_head), (model.encoder, lr_base)):
        if module is None:
            continue
        decay, no_decay = [], []
        for name, parameter in module.named_parameters():
            if not parameter.requires_grad:
                continue
            (no_decay if parameter.ndim < 2 or "norm" in name.lower() else decay).append(parameter)
        groups += [
            {"params": decay, "lr": lr, "weight_decay": weight_decay},
            {"params": no_decay, "lr": lr, "weight_decay": 0.0},
        ]
    return [group for group in groups if group["params"]]


def run_fingerprint(architecture: ResolvedArchitecture, inputs: Sequence[Path], seed: int) -> str:
    """Identifies one training run (settings, training seed and input files), so resumable state is never
    reused wrongly."""
    digest = hashlib.sha256()
    params = architecture.params
    settings = {
        "architecture": architecture.spec.model_dump(),
        "lambdas": architecture.lambdas,
        "train": params.train.model_dump(),
        "model": params.model.model_dump(),
        "seed": seed,
        "freeze_base": architecture.freeze_base,
        "mode": architecture.mode,
        "isotropy": architecture.isotropy,
    }
    digest.update(json.dumps(settings, sort_keys=True).encode())
    for path in inputs:
        for file in sorted(Path(path).rglob("*")) if Path(path).is_dir() else [Path(path)]:
            if file.is_file():
                digest.update(file.name.encode())
                digest.update(str(file.stat().st_size).encode())
                with file.open("rb") as handle:
                    digest.update(handle.read(1 << 20))
    return digest.hexdigest()[:16]


def _warmup_then_decay_factor(step: int, warmup_steps: int, total_steps: int) -> float:
    if step < warmup_steps:
        return step / max(1, warmup_steps)
    return max(0.0, (total_steps - step) / max(1, total_steps - warmup_steps))


def linear_warmup_then_decay(
    optimizer: torch.optim.Optimizer, warmup_steps: int, total_steps: int
) -> torch.optim.lr_scheduler.LambdaLR:
    """Linear warmup from 0 to each group's LR over ``warmup_steps``, then linear decay to 0 at ``total_steps``.

    The same schedule as transformers' ``get_linear_schedule_with_warmup`` (tested against it), built on torch's
    LambdaLR here because importing transformers costs ~0.5 s in every frozen-base training process, which
    otherwise never needs it.
    """
    factor = functools.partial(_warmup_then_decay_factor, warmup_steps=warmup_steps, total_steps=total_steps)
    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


@torch.no_grad()
def dev_metrics(
    model: RetrievalModel,
    dev: Sequence[DevQuery],
    source: TextSource,
    device: torch.device,
    batch_size: int = 256,
) -> dict[str, float]:
    """MRR@10 and NDCG@10 of re-ranking each dev query's BM25 candidates (positives included), via beir."""
    was_training = model.training
    model.eval()
    query_keys = list(dict.fromkeys(item.query for item in dev))
    doc_keys = list(dict.fromkeys(key for item in dev for key in item.candidates + item.positives))

    def embed(keys: list[str], encode: Callable[[Any], torch.Tensor]) -> torch.Tensor:
        parts = [encode(source.features(model, keys[i : i + batch_size], device)).float() for i in range(0, len(keys), batch_size)]
        return torch.cat(parts)

    queries = embed(query_keys, model.encode_queries)
    documents = embed(doc_keys, model.encode_documents)
    query_row = {key: row for row, key in enumerate(query_keys)}
    doc_row = {key: row for row, key in enumerate(doc_keys)}
    score = model.heads.spec.score
    results: dict[str, dict[str, float]] = {}
    qrels: dict[str, dict[str, int]] = {}
    for item in dev:
        candidates = list(dict.fromkeys(item.candidates + item.positives))
        scores = pairwise_scores(
            queries[query_row[item.query]].unsqueeze(0), documents[[doc_row[key] for key in candidates]], score
        )[0]
        query_id = split_key(item.query)[1]
        results[query_id] = {split_key(key)[1]: float(value) for key, value in zip(candidates, scores.tolist())}
        qrels[query_id] = {split_key(key)[1]: 1 for key in item.positives}
    metrics, _ = evaluate_results(qrels, results, k_values=(10,), dataset="dev")
    model.train(was_training)
    return {"mrr@10": metrics["mrr@10"], "ndcg@10": metrics["ndcg@10"]}


class ResumeState:
    """Per-epoch training state in safetensors + JSON (never pickle), deleted once training has finished."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def exists(self) -> bool:
        return (self.folder / "progress.json").is_file()

    def save(self, model: nn.Module, optimizer: torch.optim.Optimizer, scheduler: Any, progress: dict,
             best_state: dict[str, torch.Tensor]) -> None:
        staging = self.folder.with_name(self.folder.name + ".tmp")
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        save_file({k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}, str(staging / "model.safetensors"))
        save_file({k: v.detach().cpu().contiguous() for k, v in best_state.items()}, str(staging / "best.safetensors"))
        tensors, optimizer_meta = _flatten_optimizer(optimizer.state_dict())
        tensors["rng/torch"] = torch.get_rng_state()
        save_file(tensors, str(staging / "optimizer.safetensors"))
        (staging / "progress.json").write_text(
            json.dumps({"progress": progress, "optimizer": optimizer_meta, "scheduler": scheduler.state_dict()}),
            encoding="utf-8",
        )
        shutil.rmtree(self.folder, ignore_errors=True)
        staging.rename(self.folder)

    def load_or_discard(self, model: nn.Module, optimizer: torch.optim.Optimizer, scheduler: Any,
                        discard: bool = True) -> tuple[dict, dict] | None:
        """Apply the saved state to model, optimizer, scheduler and torch's RNG and return (progress, best state),
        or None when there is none. A state that cannot be read or does not fit this model (a truncated file
        after a crash, a hand edit) is deleted with a warning naming it, and training starts afresh: it is
        never half-applied and never blocks training. With ``discard=False`` (a data-parallel process other
        than the main one, which has already checked the state) an unreadable state is an error instead: that
        process must not start afresh while the main one resumes."""
        if not self.exists():
            return None
        snapshot = _Snapshot.of(model, optimizer, scheduler)
        try:
            saved = self._read(model, optimizer)
            model.load_state_dict(saved.model, strict=True)
            torch.set_rng_state(saved.rng)
            optimizer.load_state_dict(saved.optimizer)
            scheduler.load_state_dict(saved.scheduler)
        except _UNREADABLE as error:
            snapshot.restore(model, optimizer, scheduler)
            first = (str(error).strip().splitlines() or [type(error).__name__])[0]
            if not discard:
                raise RuntimeError(f"{self.folder}: the resume state the main process read is unreadable here ({first})") from error
            logger.warning("%s: discarding an unreadable resume state (%s); training restarts from epoch 1",
                           self.folder, first)
            self.clear()
            return None
        return saved.progress, saved.best

    def _read(self, model: nn.Module, optimizer: torch.optim.Optimizer) -> _SavedState:
        """Read every file of the state and check it against the model, before anything is applied."""
        expected = model.state_dict()
        model_state = load_file(str(self.folder / "model.safetensors"))
        best_state = load_file(str(self.folder / "best.safetensors"))
        for name, state in (("model.safetensors", model_state), ("best.safetensors", best_state)):
            _check_fits(name, state, expected)
        saved = json.loads((self.folder / "progress.json").read_text(encoding="utf-8"))
        tensors = load_file(str(self.folder / "optimizer.safetensors"))
        rng = tensors.pop("rng/torch")
        if rng.dtype != torch.uint8 or rng.shape != torch.get_rng_state().shape:
            raise ValueError("optimizer.safetensors: the saved RNG state has the wrong shape")
        optimizer_state = _unflatten_optimizer(tensors, saved["optimizer"])
        if len(optimizer_state["param_groups"]) != len(optimizer.param_groups):
            raise ValueError("progress.json: the optimizer's parameter groups differ")
        progress = saved["progress"]
        missing = {"epoch", "step", "best_epoch", "best_mrr", "history", "seconds"} - set(progress)
        if missing:
            raise KeyError(f"progress.json lacks {sorted(missing)}")
        return _SavedState(model_state, best_state, rng, optimizer_state, saved["scheduler"], progress)

    def clear(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


# What reading a broken state raises: safetensors' error for a truncated file, JSON, key and type errors for a
# bad progress.json, ValueError/RuntimeError for tensors that do not fit.
_UNREADABLE = (SafetensorError, OSError, ValueError, KeyError, TypeError, RuntimeError, IndexError, AttributeError)


@dataclass
class _SavedState:
    model: dict[str, torch.Tensor]
    best: dict[str, torch.Tensor]
    rng: torch.Tensor
    optimizer: dict
    scheduler: dict
    progress: dict


@dataclass
class _Snapshot:
    """The fresh run's state, put back if applying a saved state fails midway."""

    model: dict[str, torch.Tensor]
    optimizer: dict
    scheduler: dict
    rng: torch.Tensor

    @classmethod
    def of(cls, model: nn.Module, optimizer: torch.optim.Optimizer, scheduler: Any) -> _Snapshot:
        import copy

        return cls({k: v.detach().clone() for k, v in model.state_dict().items()},
                   copy.deepcopy(optimizer.state_dict()), copy.deepcopy(scheduler.state_dict()), torch.get_rng_state())

    def restore(self, model: nn.Module, optimizer: torch.optim.Optimizer, scheduler: Any) -> None:
        model.load_state_dict(self.model, strict=True)
        optimizer.load_state_dict(self.optimizer)
        scheduler.load_state_dict(self.scheduler)
        torch.set_rng_state(self.rng)


def _check_fits(name: str, state: dict[str, torch.Tensor], expected: dict[str, torch.Tensor]) -> None:
    if set(state) != set(expected):
        raise KeyError(f"{name}: its tensors are not the model's")
    for key, tensor in expected.items():
        if state[key].shape != tensor.shape:
            raise ValueError(f"{name}: {key} has shape {tuple(state[key].shape)}, the model {tuple(tensor.shape)}")


def _flatten_optimizer(state: dict) -> tuple[dict[str, torch.Tensor], dict]:
    tensors: dict[str, torch.Tensor] = {}
    scalars: dict[str, dict[str, Any]] = {}
    for index, values in state["state"].items():
        for name, value in values.items():
            if isinstance(value, torch.Tensor):
                tensors[f"state/{index}/{name}"] = value.detach().cpu().contiguous()
            else:
                scalars.setdefault(str(index), {})[name] = value
    return tensors, {"param_groups": state["param_groups"], "scalars": scalars}


def _unflatten_optimizer(tensors: dict[str, torch.Tensor], meta: dict) -> dict:
    state: dict[int, dict[str, Any]] = {}
    for key, value in tensors.items():
        _, index, name = key.split("/", 2)
        state.setdefault(int(index), {})[name] = value
    for index, values in meta["scalars"].items():
        state.setdefault(int(index), {}).update(values)
    return {"state": state, "param_groups": meta["param_groups"]}


def _end_live(live: Any) -> None:
    """End a DVCLive run and drop its summary file: the training log folder then holds plot data only (what
    dvc.yaml declares as plots); the run's summary is the model folder's training.json."""
    live.end()
    (Path(live.dir) / "metrics.json").unlink(missing_ok=True)


def _epoch_order(count: int, seed: int, epoch: int) -> list[int]:
    generator = torch.Generator().manual_seed(seed * 1_000_003 + epoch)
    return torch.randperm(count, generator=generator).tolist()


class EpochOrder(torch.utils.data.Sampler[int]):
    """The seeded order of one epoch's examples: it depends on the seed and the epoch, never on the number of
    processes (Accelerate's dataloader splits each batch of it between them)."""

    def __init__(self, count: int, seed: int) -> None:
        self.count = count
        self.seed = seed
        self.epoch = 1

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __iter__(self):
        return iter(_epoch_order(self.count, self.seed, self.epoch))

    def __len__(self) -> int:
        return self.count


def global_batch_size(count: int, batch_size: int, processes: int) -> int:
    """The batch size the epochs are cut into: ``batch_size`` (full batches only: a one-example batch has no
    in-batch negatives), or, when all ``count`` examples fit in one batch, all of them less the remainder
    modulo ``processes`` (every process must hold an equal share)."""
    per_process_batch(batch_size, processes)
    if count > batch_size:
        return batch_size
    size = count - count % processes
    if size < max(2, processes):
        raise ConfigError(f"{count} training examples are too few for a batch shared by {processes} processes")
    return size


def epoch_batches(count: int, batch_size: int, seed: int, processes: int = 1) -> torch.utils.data.DataLoader:
    """A dataloader of the example indices of each epoch's global batches (``set_epoch`` picks the epoch),
    to be split between processes by ``accelerator.prepare``."""
    size = global_batch_size(count, batch_size, processes)
    sampler = torch.utils.data.BatchSampler(EpochOrder(count, seed), size, drop_last=True)
    return torch.utils.data.DataLoader(range(count), batch_sampler=sampler, collate_fn=list)


def _process_seed(seed: int, epoch: int, process: int) -> int:
    """The dropout seed of a process other than the main one for an epoch: each process draws its own masks.
    The main process keeps the one-process stream (seeded once, saved in the resume state)."""
    return (seed * 1_000_003 + epoch) * 1_009 + process


class Trainer:
    def __init__(
        self,
        architecture: ResolvedArchitecture,
        model: RetrievalModel,
        examples: Sequence[Example],
        dev: Sequence[DevQuery],
        source: TextSource,
        *,
        live_dir: Path | None,
        resume_dir: Path | None,
        seed: int,
    ) -> None:
        self.architecture = architecture
        self.model = model
        self.examples = list(examples)
        self.dev = list(dev)
        self.source = source
        self.live_dir = live_dir
        self.resume = ResumeState(resume_dir) if resume_dir is not None else None
        self.train_config = architecture.params.train
        self.weights = loss_weights(architecture)
        self.seed = seed

    def fit(self) -> TrainingOutcome:
        from accelerate import Accelerator, DataLoaderConfiguration

        config = self.train_config
        seed = self.seed
        torch.manual_seed(seed)
        np.random.seed(seed % (2**32))
        accelerator = Accelerator(
            mixed_precision=config.mixed_precision,
            gradient_accumulation_steps=config.gradient_accumulation_steps,
            cpu=not torch.cuda.is_available(),
            # split_batches: train.batch_size is the global batch, each process trains 1/N of it, and the
            # prepared scheduler steps once per optimiser step (not N times).
            dataloader_config=DataLoaderConfiguration(split_batches=True),
        )
        main = accelerator.is_main_process
        processes = accelerator.num_processes
        loader = epoch_batches(len(self.examples), config.batch_size, seed, processes)
        if processes > 1:
            self._check_equal_shapes()
        model = self.model
        model.to(accelerator.device)
        model.heads.calibrate(
            calibration_features(model, self.examples, self.source, accelerator.device), config.target_std
        )
        if model.encoder is not None and config.gradient_checkpointing:
            # Non-reentrant checkpointing: the reentrant kind does not work under DDP.
            model.encoder.model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
        optimizer = torch.optim.AdamW(
            parameter_groups(model, config.lr_head, config.lr_base, config.weight_decay)
        )
        batches_per_epoch = len(loader)
        steps_per_epoch = math.ceil(batches_per_epoch / config.gradient_accumulation_steps)
        total_steps = steps_per_epoch * config.epochs
        scheduler = linear_warmup_then_decay(optimizer, round(config.warmup_ratio * total_steps), total_steps)
        model, optimizer, scheduler, loader = accelerator.prepare(model, optimizer, scheduler, loader)
        core: RetrievalModel = accelerator.unwrap_model(model)
        forward = torch.compile(model) if config.compile else model
        device = accelerator.device

        progress = {"epoch": 0, "step": 0, "best_epoch": 0, "best_mrr": -1.0, "history": [], "seconds": 0.0}
        best_state = {k: v.detach().clone() for k, v in core.state_dict().items()} if main else {}
        resumed = self._resume(accelerator, core, optimizer, scheduler)
        if resumed is not None:
            progress, saved_best = resumed
            best_state = saved_best if main else {}
            if main:
                logger.info("resuming %s after epoch %d", self.architecture.name, progress["epoch"])

        live = self._live(resume=progress["epoch"] > 0) if main else None
        start_time = time.perf_counter() - progress["seconds"]
        epoch_means: dict[str, float] = {}
        for epoch in range(progress["epoch"] + 1, config.epochs + 1):
            model.train()
            if not main:
                torch.manual_seed(_process_seed(seed, epoch, accelerator.process_index))
            sums: dict[str, float] = {}
            loader.set_epoch(epoch)
            # Only the main process shows a bar; passing disable=False would override TQDM_DISABLE there.
            quiet = {} if main else {"disable": True}
            bar = tqdm(loader, desc=f"{self.architecture.name} seed {seed} epoch {epoch}", unit="batch", leave=False, **quiet)
            trained = 0
            for batch_number, indices in enumerate(bar):
                batch = [self.examples[i] for i in indices]
                trained += len(batch)
                with accelerator.accumulate(model):
                    losses = self._batch_losses(forward, core, batch, device, progress["step"], accelerator)
                    self._check_finite(losses, epoch, batch_number)
                    accelerator.backward(losses["total"])
                    if accelerator.sync_gradients:
                        accelerator.clip_grad_norm_(model.parameters(), config.max_grad_norm)
                    optimizer.step()
                    scheduler.step()
                    optimizer.zero_grad()
                if accelerator.sync_gradients:
                    if core.heads.target_head is not None:
                        core.heads.update_ema()
                    progress["step"] += 1
                    values = {name: float(value.detach()) for name, value in losses.items()}
                    for name, value in values.items():
                        sums[name] = sums.get(name, 0.0) + value
                    values.update(weighted_shares(values, self.weights))
                    self._log_step(live, progress["step"], values, scheduler)
                    bar.set_postfix(loss=f"{values['total']:.4f}")
            if processes > 1:
                logger.info("%s epoch %d: process %d of %d trained %d examples in %d batches",
                            self.architecture.name, epoch, accelerator.process_index + 1, processes, trained,
                            batches_per_epoch)
            progress["epoch"] = epoch
            if not main:
                # The main process scores, logs and saves; the others wait for it, then train the next epoch.
                accelerator.wait_for_everyone()
                continue
            steps = max(1, steps_per_epoch)
            epoch_means = {name: total / steps for name, total in sums.items()}
            dev = dev_metrics(core, self.dev, self.source, device)
            record = {"epoch": epoch, "dev_mrr@10": dev["mrr@10"], "dev_ndcg@10": dev["ndcg@10"]}
            record.update({f"loss_{name}": value for name, value in epoch_means.items()})
            # Shares of the epoch's mean losses: the inert-term check of the report reads the last epoch's.
            record.update(weighted_shares(epoch_means, self.weights))
            progress["history"].append(record)
            logger.info("%s epoch %d: dev MRR@10 %.4f, loss %.4f", self.architecture.name, epoch,
                        dev["mrr@10"], epoch_means.get("total", float("nan")))
            if dev["mrr@10"] > progress["best_mrr"]:
                progress["best_mrr"], progress["best_epoch"] = dev["mrr@10"], epoch
                best_state = {k: v.detach().cpu().clone() for k, v in core.state_dict().items()}
            self._log_epoch(live, progress["step"], dev)
            progress["seconds"] = time.perf_counter() - start_time
            if self.resume is not None:
                self.resume.save(core, optimizer, scheduler, progress, best_state)
            accelerator.wait_for_everyone()
        if live is not None:
            _end_live(live)
        if not main:
            return TrainingOutcome(metrics={}, best_state={}, writer=False)
        history = progress["history"]
        final = history[-1] if history else {}
        summary = SeedSummary(
            best_epoch=progress["best_epoch"],
            best_dev_mrr=progress["best_mrr"],
            final_dev_mrr=final.get("dev_mrr@10", float("nan")),
            trainable_parameters=sum(p.numel() for p in core.parameters() if p.requires_grad),
        )
        metrics = {**summary.metrics(), EXAMPLES: float(len(self.examples)), STEPS: float(progress["step"])}
        # The duration is logged, never stored in the metrics: they go into the DVC-hashed model folder, and a
        # timing there would make every retrain look like a new model to evaluate@ARCH (and churn its metrics).
        logger.info("%s seed %d: trained in %.1f s", self.architecture.name, seed, time.perf_counter() - start_time)
        metrics.update({key: float(value) for key, value in final.items() if key.startswith(("loss_", "share_"))})
        return TrainingOutcome(metrics=metrics, best_state=best_state, history=history)

    def _batch_losses(self, forward: nn.Module, core: RetrievalModel, batch: list[Example],
                      device: torch.device, step: int, accelerator: Any) -> dict[str, torch.Tensor]:
        config = self.train_config
        source = self.source
        queries = source.features(core, [example.query for example in batch], device)
        positives = source.features(core, [example.positive for example in batch], device)
        negative_keys = [key for example in batch for key in example.negatives]
        negatives = source.features(core, negative_keys, device) if negative_keys else None
        # A fresh, seeded set of SIGReg directions every step.
        generator = torch.Generator(device=device).manual_seed(self.seed * 7919 + step)
        with accelerator.autocast():
            local = forward(queries, positives, negatives)
            # With N processes every process computes the loss of the whole global batch (see
            # ragcun/losses/distributed.py for why its gradients need no rescaling).
            losses = combine_losses(
                global_batch(local),
                self.weights,
                isotropy_kind=self.architecture.isotropy,
                temperature=self.architecture.temperature,
                score=core.heads.spec.score,
                target_std=config.target_std,
                generator=generator,
                sigreg_directions=config.sigreg_directions,
            )
            if accelerator.num_processes > 1:
                losses["total"] = touching_every_output(losses["total"], local)
            return losses

    def _resume(self, accelerator: Any, core: RetrievalModel, optimizer: torch.optim.Optimizer,
                scheduler: Any) -> tuple[dict, dict] | None:
        """The saved state of this run, applied to every process. The main process reads it first and deletes
        it if unreadable; only then do the others read it, so none reads a state that is being deleted."""
        if self.resume is None:
            return None
        resumed = self.resume.load_or_discard(core, optimizer, scheduler) if accelerator.is_main_process else None
        accelerator.wait_for_everyone()
        if not accelerator.is_main_process:
            resumed = self.resume.load_or_discard(core, optimizer, scheduler, discard=False)
        return resumed

    def _check_equal_shapes(self) -> None:
        """Every process must gather tensors of one shape: the same number of negatives in every example."""
        counts = {len(example.negatives) for example in self.examples}
        if len(counts) > 1:
            raise ConfigError(
                f"{self.architecture.name}: training examples have {sorted(counts)} negatives; data-parallel "
                "training needs the same number in each (as the mine stage writes them)"
            )

    def _check_finite(self, losses: dict[str, torch.Tensor], epoch: int, batch: int) -> None:
        total = losses["total"]
        if not torch.isfinite(total):
            bad = [name for name, value in losses.items() if not torch.isfinite(value)]
            raise TrainingDivergedError(
                f"{self.architecture.name}: loss became {float(total.detach())} at epoch {epoch}, batch {batch} "
                f"(non-finite: {', '.join(bad)}); no checkpoint written — lower the learning rate or a lambda"
            )

    def _live(self, resume: bool) -> Any:
        if self.live_dir is None:
            return None
        from dvclive import Live

        return Live(dir=str(self.live_dir), resume=resume, report=None, save_dvc_exp=False, dvcyaml=None)

    @staticmethod
    def log_reference(live_dir: Path, dev: dict[str, float]) -> None:
        """The dev metrics of an untrained model, logged once at step 0."""
        from dvclive import Live

        live = Live(dir=str(live_dir), report=None, save_dvc_exp=False, dvcyaml=None)
        Trainer._log_epoch(live, 0, dev)
        _end_live(live)

    @staticmethod
    def _log_step(live: Any, step: int, values: dict[str, float], scheduler: Any) -> None:
        if live is None:
            return
        live.step = step
        for name, value in values.items():
            live.log_metric(f"train/{name}", value)
        live.log_metric("train/lr_head", float(scheduler.get_last_lr()[0]))

    @staticmethod
    def _log_epoch(live: Any, step: int, dev: dict[str, float]) -> None:
        if live is None:
            return
        live.step = step
        live.log_metric("dev/mrr@10", dev["mrr@10"])
        live.log_metric("dev/ndcg@10", dev["ndcg@10"])
