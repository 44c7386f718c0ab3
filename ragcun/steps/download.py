"""The download stage: the embedded sample, or MS MARCO and the BEIR evaluation sets, each then checked in full."""

from __future__ import annotations

from ragcun import paths
from ragcun.config import SAMPLE_EVAL_DATASET, Params
from ragcun.errors import DataError


def run(params: Params) -> None:
    from ragcun.data.download import ensure_beir_dataset, ensure_beir_training, ensure_msmarco_training

    data = params.data
    if data.source == "sample":
        from ragcun.data.sample import generate_sample

        generate_sample(paths.TRAIN_COLLECTION, paths.BEIR_ROOT, data.sample)
    for name in params.evaluate.datasets:
        if name == SAMPLE_EVAL_DATASET and data.source == "sample":
            continue
        if name == SAMPLE_EVAL_DATASET and not paths.beir_folder(name).is_dir():
            raise DataError(
                f"dataset {name!r} is the embedded sample's evaluation set: it exists only with data.source: sample"
            )
        ensure_beir_dataset(name, paths.BEIR_ROOT, base_url=data.base_url)
    # After the evaluation sets: a BEIR dataset trained on and listed in evaluate.datasets is fetched there first.
    if data.source == "msmarco":
        ensure_msmarco_training(
            paths.TRAIN_COLLECTION,
            base_url=data.base_url,
            train_queries=data.train_queries,
            dev_queries=data.dev_queries,
            seed=data.seed,
            local=paths.beir_folder("msmarco"),
        )
    elif data.source == "beir":
        assert data.train_dataset is not None  # DataConfig requires it with source: beir
        ensure_beir_training(
            paths.TRAIN_COLLECTION,
            paths.beir_folder(data.train_dataset),
            data.train_dataset,
            train_queries=data.train_queries,
            dev_queries=data.dev_queries,
            seed=data.seed,
        )
    check_datasets(params.evaluate.datasets)


def check_datasets(names: list[str]) -> None:
    """Parse every evaluation dataset in full (JSON of every line, ids, qrels scores and the documents they
    point at), one at a time: a bad line in a user's folder fails here, in seconds, not in embed after hours
    of encoding."""
    from ragcun.data.beir_layout import load_dataset

    for name in names:
        load_dataset(paths.beir_folder(name), "test", name)
