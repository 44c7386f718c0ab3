"""The train@ARCH stage: train one architecture once per training seed, keep each run's best epoch by dev
MRR@10. Start-up (Python, torch, data loading) is paid once for all seeds: on CPU with a frozen base the seeds
train at once in processes forked from this one (``train.seed_processes``), each with ``train.cpu_threads``
threads, so a seed computes exactly what it computes alone; otherwise they train one after the other here.

With ``train.processes`` above 1 the stage relaunches itself through `accelerate launch` (ragcun/launch.py);
in the launched processes every one trains its share of each batch and the main process alone writes the
model folder, the training logs and the resume states."""

from __future__ import annotations

import contextlib
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from ragcun import paths
from ragcun.config import Params
from ragcun.data.beir_layout import load_corpus, load_queries
from ragcun.embedding_store import CombinedTable
from ragcun.io import atomic_path, read_jsonl, write_json
from ragcun.model import checkpoint_config, save_checkpoint
from ragcun.seeds import aggregate
from ragcun.devices import compute_device, select_device
from ragcun.steps.common import TRAINING_SUMMARY, new_model, uses_encoder


@dataclass(frozen=True)
class SeedResult:
    """What one seed's training hands back to the stage (from a forked process too: plain, picklable data)."""

    seed: int
    metrics: dict[str, Any] | None  # None in a launched process other than the main one (it writes nothing)
    resume_folder: Path | None  # the finished run's resume state, deleted once every seed's checkpoint exists


def run(params: Params, name: str) -> None:
    from ragcun.launch import per_process_batch, relaunch_training, seed_processes, training_processes, under_launcher
    from ragcun.training import ResumeState, process_state
    from ragcun.training_data import build_examples, dev_queries

    architecture = params.architecture(name)
    if not under_launcher():
        processes = training_processes(params.train.processes) if architecture.spec.trained else 1
        if processes > 1:
            per_process_batch(params.train.batch_size, processes)  # fails here, before any process starts
            # exclude_unset: the relaunched processes must read the same file, not one that now sets every
            # section (a report section would make a single-architecture file a comparison).
            payload = params.model_dump(mode="json", exclude_unset=True)
            relaunch_training(name, payload, processes, params.train.mixed_precision)
            return
        # One process: take a free GPU (a queued experiment's share); launched processes get theirs from
        # the launcher (LOCAL_RANK) instead.
        select_device()
    on_cpu = compute_device() == "cpu"
    if on_cpu:
        torch.set_num_threads(params.train.cpu_threads)
    # Under a launcher only the main process writes; Accelerate (imported only then) says which one that is.
    writer = process_state().is_main_process if under_launcher() else True
    fine_tune = uses_encoder(architecture)
    mined_train = read_jsonl(paths.MINED_TRAIN)
    mined_dev = read_jsonl(paths.MINED_DEV)
    table = None
    if not fine_tune:
        from ragcun.embedding import load_table

        table = CombinedTable([load_table(params, paths.TRAIN_EMBEDDINGS), load_table(params, paths.DERIVED_EMBEDDINGS)])
    examples = build_examples(architecture.mode, mined_train)
    if params.train.max_examples is not None:
        examples = examples[: params.train.max_examples]
    seeds = list(architecture.seeds)
    parallel = 1
    if on_cpu and not fine_tune and architecture.spec.trained and not under_launcher():
        parallel = seed_processes(params.train.seed_processes, len(seeds), params.train.cpu_threads)

    if writer:
        shutil.rmtree(paths.training_log(name), ignore_errors=True)
    with atomic_path(paths.model_folder(name)) if writer else contextlib.nullcontext(None) as staging:
        if staging is not None:
            staging.mkdir(parents=True)
        seed_training = SeedTraining(params, name, examples, dev_queries(mined_dev, params.train.dev_queries),
                                     table, mined_train, mined_dev, staging)
        if parallel > 1:
            from ragcun.forking import map_in_forked_processes

            results = map_in_forked_processes(seed_training.train, seeds, parallel, lambda seed: f"{name} seed {seed}")
        else:
            results = [seed_training.train(seed) for seed in seeds]
        if staging is not None:
            write_json(staging / TRAINING_SUMMARY,
                       aggregate({r.seed: r.metrics for r in results if r.metrics is not None}))
    # Only now, with every seed's checkpoint in place: a run killed at a later seed resumes the earlier ones
    # from their final state instead of training them again.
    for result in results:
        if result.resume_folder is not None:
            ResumeState(result.resume_folder).clear()


class SeedTraining:
    """One architecture's training of one seed, given the data the stage loaded once for all seeds."""

    def __init__(self, params: Params, name: str, examples: list[Any], dev: list[Any], table: CombinedTable | None,
                 mined_train: list[dict], mined_dev: list[dict], staging: Path | None) -> None:
        self.params = params
        self.name = name
        self.architecture = params.architecture(name)
        self.examples = examples
        self.dev = dev
        self.table = table
        self.mined_train = mined_train
        self.mined_dev = mined_dev
        self.staging = staging  # None in a launched process other than the main one
        self.texts: dict[str, str] | None = None  # fine-tuning: built with the first seed's tokenizer

    def train(self, seed: int) -> SeedResult:
        from ragcun.training import TextSource, Trainer, dev_metrics, run_fingerprint
        from ragcun.training_summary import SeedSummary

        architecture, name, staging = self.architecture, self.name, self.staging
        fine_tune = self.table is None
        torch.manual_seed(seed)
        model = new_model(architecture, with_encoder=fine_tune)
        if fine_tune and self.texts is None:
            from ragcun.embedding import mask_token, training_texts

            assert model.encoder is not None
            corpus = load_corpus(paths.TRAIN_COLLECTION, "train")
            queries = load_queries(paths.TRAIN_COLLECTION, "train")
            self.texts = training_texts(self.params, corpus, queries, self.mined_train, self.mined_dev,
                                        mask_token(model.encoder))
        source = TextSource(table=self.table) if self.table is not None else TextSource(texts=self.texts)
        config = checkpoint_config(architecture, model.heads.spec, fine_tuned=fine_tune)
        if not architecture.spec.trained:
            if staging is None:
                return SeedResult(seed, None, None)  # a launched copy of an untrained one: the main process writes it
            dev_result = dev_metrics(model, self.dev, source, torch.device(compute_device()))
            save_checkpoint(staging / paths.checkpoint(name, seed).name, model, config)
            # Its dev metric goes in the training log too, so `dvc plots` shows the untrained reference.
            Trainer.log_reference(paths.training_log(name, seed), dev_result)
            return SeedResult(seed, SeedSummary.untrained(dev_result).metrics(), None)
        inputs = [paths.MINED_TRAIN, paths.MINED_DEV, paths.TRAIN_EMBEDDINGS / "ids.json", paths.DERIVED_EMBEDDINGS / "ids.json"]
        resume_dir = paths.RESUME / f"{name}-{run_fingerprint(architecture, inputs, seed)}"
        trainer = Trainer(architecture, model, self.examples, self.dev, source, live_dir=paths.training_log(name, seed),
                          resume_dir=resume_dir, seed=seed)
        outcome = trainer.fit()
        if staging is None:
            return SeedResult(seed, None, None)
        model.load_state_dict(outcome.best_state, strict=True)
        save_checkpoint(staging / paths.checkpoint(name, seed).name, model, config)
        return SeedResult(seed, outcome.metrics, trainer.resume.folder if trainer.resume is not None else None)
