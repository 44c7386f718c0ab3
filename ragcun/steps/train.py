"""The train@ARCH stage: train one architecture, keep the best epoch by dev MRR@10."""

from __future__ import annotations

import time
from typing import Any

import torch

from ragcun import paths
from ragcun.config import Params
from ragcun.data.beir_layout import load_corpus, load_queries
from ragcun.embedding_store import EmbeddingTable
from ragcun.io import read_jsonl, write_json
from ragcun.model import checkpoint_config, save_checkpoint
from ragcun.steps.common import TRAINING_SUMMARY, build_model, device, uses_encoder


def run(params: Params, name: str) -> None:
    from ragcun.devices import select_device
    from ragcun.training import TextSource, Trainer, dev_metrics, run_fingerprint
    from ragcun.training_data import build_examples, dev_queries

    select_device()
    architecture = params.architecture(name)
    torch.manual_seed(params.seed)
    fine_tune = uses_encoder(architecture)
    model = build_model(architecture, with_encoder=fine_tune)
    mined_train = read_jsonl(paths.MINED_TRAIN)
    mined_dev = read_jsonl(paths.MINED_DEV)
    dev = dev_queries(mined_dev, params.train.dev_queries)
    if fine_tune:
        from ragcun.embedding import mask_token, training_texts

        assert model.encoder is not None
        corpus = load_corpus(paths.TRAIN_COLLECTION, "train")
        queries = load_queries(paths.TRAIN_COLLECTION, "train")
        texts = training_texts(params, corpus, queries, mined_train, mined_dev, mask_token(model.encoder))
        source = TextSource(texts=texts)
    else:
        source = TextSource(table=EmbeddingTable.load(paths.TRAIN_EMBEDDINGS, expect_model=params.model.base))

    config = checkpoint_config(architecture, model.heads.spec, fine_tuned=fine_tune)
    if not architecture.spec.trained:
        started = time.perf_counter()
        dev_result = dev_metrics(model, dev, source, torch.device(device()))
        metrics: dict[str, Any] = {
            "best_epoch": 0.0,
            "best_dev_mrr@10": dev_result["mrr@10"],
            "final_dev_mrr@10": dev_result["mrr@10"],
            "trainable_parameters": 0.0,
            "seconds": round(time.perf_counter() - started, 3),
        }
        save_checkpoint(paths.checkpoint(name), model, config)
        write_json(paths.checkpoint(name) / TRAINING_SUMMARY, metrics)
        # Its dev metric goes in the training log too, so `dvc plots` shows the untrained reference.
        Trainer.log_reference(paths.training_log(name), dev_result)
        return

    examples = build_examples(architecture.mode, mined_train)
    if params.train.max_examples is not None:
        examples = examples[: params.train.max_examples]
    fingerprint = run_fingerprint(architecture, [paths.MINED_TRAIN, paths.MINED_DEV, paths.TRAIN_EMBEDDINGS / "ids.json"])
    resume_dir = paths.RESUME / f"{name}-{fingerprint}"
    trainer = Trainer(architecture, model, examples, dev, source, live_dir=paths.training_log(name), resume_dir=resume_dir)
    outcome = trainer.fit()
    model.load_state_dict(outcome.best_state, strict=True)
    save_checkpoint(paths.checkpoint(name), model, config)
    write_json(paths.checkpoint(name) / TRAINING_SUMMARY, outcome.metrics)
    if trainer.resume is not None:
        trainer.resume.clear()
