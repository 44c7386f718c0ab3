"""The train@ARCH stage: train one architecture once per training seed, keep each run's best epoch by dev
MRR@10. All seeds run in this one process, so start-up (Python, torch, data loading) is paid once.

With ``train.processes`` above 1 the stage relaunches itself through `accelerate launch` (ragcun/launch.py);
in the launched processes every one trains its share of each batch and the main process alone writes the
model folder, the training logs and the resume states."""

from __future__ import annotations

import contextlib
import shutil
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


def run(params: Params, name: str) -> None:
    from ragcun.launch import per_process_batch, relaunch_training, training_processes, under_launcher
    from ragcun.training import TextSource, Trainer, dev_metrics, process_state, run_fingerprint
    from ragcun.training_summary import SeedSummary
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
    # Under a launcher only the main process writes; Accelerate (imported only then) says which one that is.
    writer = process_state().is_main_process if under_launcher() else True
    fine_tune = uses_encoder(architecture)
    mined_train = read_jsonl(paths.MINED_TRAIN)
    mined_dev = read_jsonl(paths.MINED_DEV)
    dev = dev_queries(mined_dev, params.train.dev_queries)
    texts: dict[str, str] | None = None
    table = None
    if not fine_tune:
        from ragcun.embedding import load_table

        table = CombinedTable([load_table(params, paths.TRAIN_EMBEDDINGS), load_table(params, paths.DERIVED_EMBEDDINGS)])
    examples = build_examples(architecture.mode, mined_train)
    if params.train.max_examples is not None:
        examples = examples[: params.train.max_examples]

    if writer:
        shutil.rmtree(paths.training_log(name), ignore_errors=True)
    per_seed: dict[int, dict[str, Any]] = {}
    finished: list[Any] = []
    with atomic_path(paths.model_folder(name)) if writer else contextlib.nullcontext(None) as staging:
        if staging is not None:
            staging.mkdir(parents=True)
        for seed in architecture.seeds:
            torch.manual_seed(seed)
            model = new_model(architecture, with_encoder=fine_tune)
            if fine_tune and texts is None:
                from ragcun.embedding import mask_token, training_texts

                assert model.encoder is not None
                corpus = load_corpus(paths.TRAIN_COLLECTION, "train")
                queries = load_queries(paths.TRAIN_COLLECTION, "train")
                texts = training_texts(params, corpus, queries, mined_train, mined_dev, mask_token(model.encoder))
            source = TextSource(table=table) if table is not None else TextSource(texts=texts)
            config = checkpoint_config(architecture, model.heads.spec, fine_tuned=fine_tune)
            if not architecture.spec.trained:
                if staging is None:
                    continue  # a launched copy of an untrained architecture: the main process writes it
                folder = staging / paths.checkpoint(name, seed).name
                dev_result = dev_metrics(model, dev, source, torch.device(compute_device()))
                per_seed[seed] = SeedSummary.untrained(dev_result).metrics()
                save_checkpoint(folder, model, config)
                # Its dev metric goes in the training log too, so `dvc plots` shows the untrained reference.
                Trainer.log_reference(paths.training_log(name, seed), dev_result)
                continue
            inputs = [paths.MINED_TRAIN, paths.MINED_DEV, paths.TRAIN_EMBEDDINGS / "ids.json", paths.DERIVED_EMBEDDINGS / "ids.json"]
            resume_dir = paths.RESUME / f"{name}-{run_fingerprint(architecture, inputs, seed)}"
            trainer = Trainer(architecture, model, examples, dev, source, live_dir=paths.training_log(name, seed),
                              resume_dir=resume_dir, seed=seed)
            outcome = trainer.fit()
            if staging is None:
                continue
            model.load_state_dict(outcome.best_state, strict=True)
            save_checkpoint(staging / paths.checkpoint(name, seed).name, model, config)
            per_seed[seed] = outcome.metrics
            finished.append(trainer.resume)
        if staging is not None:
            write_json(staging / TRAINING_SUMMARY, aggregate(per_seed))
    # Only now, with every seed's checkpoint in place: a run killed at a later seed resumes the earlier ones
    # from their final state instead of training them again.
    for resume in finished:
        if resume is not None:
            resume.clear()
