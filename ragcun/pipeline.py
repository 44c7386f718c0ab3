"""What each DVC stage does, as one function per stage; `stages/*.py` only parse arguments and call these.

Every function reads validated Params and writes the outputs `ragcun.paths` names, atomically.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ragcun import paths
from ragcun.config import SAMPLE_EVAL_DATASET, Params, ResolvedArchitecture
from ragcun.data.beir_layout import BeirDataset, document_text, load_corpus, load_dataset, load_qrels, load_queries
from ragcun.embedding_store import EmbeddingTable
from ragcun.errors import CheckpointError, DataError
from ragcun.io import atomic_path, read_json, read_jsonl, write_json, write_jsonl
from ragcun.model import RetrievalModel, checkpoint_config, heads_spec, load_checkpoint, read_checkpoint_config, save_checkpoint

logger = logging.getLogger(__name__)

TRAINING_SUMMARY = "training.json"


def device() -> str:
    return "cuda" if torch.cuda.is_available() else "cpu"


# ---------------------------------------------------------------- configure


def run_configure(params: Params) -> None:
    """configs/<arch>.json for every architecture (see config.training_view); stale files are removed."""
    from ragcun.config import training_view

    paths.CONFIGS.mkdir(parents=True, exist_ok=True)
    wanted = {paths.architecture_config(name) for name in params.architectures}
    for stale in set(paths.CONFIGS.glob("*.json")) - wanted:
        stale.unlink()
    for name in params.architectures:
        write_json(paths.architecture_config(name), training_view(params, name))


# ---------------------------------------------------------------- download


def run_download(params: Params) -> None:
    from ragcun.data.download import ensure_beir_dataset, ensure_msmarco_training

    data = params.data
    if data.source == "sample":
        from ragcun.data.sample import generate_sample

        sample = data.sample
        generate_sample(
            paths.TRAIN_COLLECTION,
            paths.BEIR_ROOT,
            seed=sample.seed,
            train_passages=sample.train_passages,
            train_queries=sample.train_queries,
            dev_queries=sample.dev_queries,
            eval_documents=sample.eval_documents,
            eval_queries=sample.eval_queries,
        )
    else:
        ensure_msmarco_training(
            paths.TRAIN_COLLECTION,
            base_url=data.base_url,
            train_queries=data.train_queries,
            dev_queries=data.dev_queries,
            seed=data.seed,
        )
    for name in params.evaluate.datasets:
        if name == SAMPLE_EVAL_DATASET and data.source == "sample":
            continue
        if name == SAMPLE_EVAL_DATASET and not paths.beir_folder(name).is_dir():
            raise DataError(
                f"dataset {name!r} is the embedded sample's evaluation set: it exists only with data.source: sample"
            )
        ensure_beir_dataset(name, paths.BEIR_ROOT, base_url=data.base_url)


# ---------------------------------------------------------------- mine


def run_mine(params: Params) -> None:
    from ragcun.bm25 import BM25Index, tokenize
    from ragcun.mining import dev_candidates, mine_negatives

    mining = params.mining
    started = time.perf_counter()
    corpus = load_corpus(paths.TRAIN_COLLECTION, "train")
    queries = load_queries(paths.TRAIN_COLLECTION, "train")
    train_qrels = load_qrels(paths.TRAIN_COLLECTION, "train", "train")
    dev_qrels = load_qrels(paths.TRAIN_COLLECTION, "dev", "train")
    doc_ids = list(corpus)
    index = BM25Index(
        (tokenize(document_text(corpus[doc_id])) for doc_id in doc_ids),
        k1=mining.k1,
        b=mining.b,
        epsilon=mining.epsilon,
        show_progress=len(doc_ids) > 100_000,
    )
    records, stats = mine_negatives(
        index,
        doc_ids,
        queries,
        train_qrels,
        top_k=mining.top_k,
        rank_min=mining.rank_min,
        rank_max=mining.rank_max,
        hard_negatives=mining.hard_negatives,
        random_negatives=mining.random_negatives,
        seed=params.seed,
        n_jobs=mining.n_jobs,
    )
    dev = dev_candidates(index, doc_ids, queries, dev_qrels, k=mining.dev_candidates)
    write_jsonl(paths.MINED_TRAIN, records)
    write_jsonl(paths.MINED_DEV, dev)
    stats = dict(stats)
    stats["dev_queries"] = len(dev)
    stats["corpus_documents"] = len(doc_ids)
    stats["seconds_total"] = round(time.perf_counter() - started, 3)
    write_json(paths.METRICS / "mining.json", stats)


# ---------------------------------------------------------------- embed


def run_embed(params: Params) -> None:
    from ragcun.embedding import embed_dataset, embed_texts, load_encoder, mask_token, training_texts

    encoder = load_encoder(params)
    corpus = load_corpus(paths.TRAIN_COLLECTION, "train")
    queries = load_queries(paths.TRAIN_COLLECTION, "train")
    texts = training_texts(
        params, corpus, queries, read_jsonl(paths.MINED_TRAIN), read_jsonl(paths.MINED_DEV), mask_token(encoder)
    )
    embed_texts(params, encoder, texts, "train", device()).save(paths.TRAIN_EMBEDDINGS)
    for name in params.evaluate.datasets:
        dataset = load_dataset(paths.beir_folder(name), "test", name)
        query_table, corpus_table = embed_dataset(params, encoder, dataset, device())
        query_table.save(paths.eval_embeddings(name, "queries"))
        corpus_table.save(paths.eval_embeddings(name, "corpus"))


# ---------------------------------------------------------------- train


def build_model(architecture: ResolvedArchitecture, with_encoder: bool) -> tuple[RetrievalModel, int]:
    """The architecture's model; with_encoder loads the base encoder into it (fine-tuning)."""
    params = architecture.params
    encoder = None
    if with_encoder:
        from ragcun.embedding import load_encoder

        encoder = load_encoder(params)
        base_dim = encoder.dimension
    else:
        table_meta = read_json(paths.TRAIN_EMBEDDINGS / "meta.json") if (paths.TRAIN_EMBEDDINGS / "meta.json").is_file() else None
        if table_meta is None:
            raise DataError(f"{paths.TRAIN_EMBEDDINGS}: no embedding cache; run `dvc repro embed`")
        base_dim = int(np.load(paths.TRAIN_EMBEDDINGS / "vectors.npy", mmap_mode="r").shape[1])
    from ragcun.heads import RetrievalHeads

    model = RetrievalModel(RetrievalHeads(heads_spec(architecture, base_dim)), encoder)
    return model, base_dim


def uses_encoder(architecture: ResolvedArchitecture) -> bool:
    """Only a trained architecture with a fine-tuned base runs the encoder; all others read the cache."""
    return architecture.spec.trained and not architecture.freeze_base


def run_train(params: Params, name: str) -> None:
    from ragcun.devices import select_device
    from ragcun.training import TextSource, Trainer, dev_metrics, run_fingerprint
    from ragcun.training_data import build_examples, dev_queries

    select_device()
    architecture = params.architecture(name)
    torch.manual_seed(params.seed)
    fine_tune = uses_encoder(architecture)
    model, _ = build_model(architecture, with_encoder=fine_tune)
    mined_train = read_jsonl(paths.MINED_TRAIN)
    dev = dev_queries(read_jsonl(paths.MINED_DEV), params.train.dev_queries)
    if fine_tune:
        from ragcun.embedding import mask_token, training_texts

        assert model.encoder is not None
        corpus = load_corpus(paths.TRAIN_COLLECTION, "train")
        queries = load_queries(paths.TRAIN_COLLECTION, "train")
        texts = training_texts(params, corpus, queries, mined_train, read_jsonl(paths.MINED_DEV), mask_token(model.encoder))
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


# ---------------------------------------------------------------- evaluate


def load_trained(params: Params, name: str) -> RetrievalModel:
    architecture = params.architecture(name)
    folder = paths.checkpoint(name)
    if not (folder / "config.json").is_file():
        raise CheckpointError(f"architecture {name!r} has no checkpoint yet at {folder}: run `dvc repro train@{name}`")
    found = read_checkpoint_config(folder)
    model, _ = build_model(architecture, with_encoder=bool(found.get("fine_tuned_encoder")))
    load_checkpoint(folder, model, checkpoint_config(architecture, model.heads.spec, uses_encoder(architecture)))
    model.eval()
    return model


@torch.no_grad()
def encode_side(
    model: RetrievalModel,
    params: Params,
    texts: dict[str, str],
    cache: Path,
    side: str,
) -> tuple[list[str], np.ndarray]:
    """Retrieval embeddings of one side (queries or corpus) of a dataset: from the cache or the encoder."""
    ids = list(texts)
    batch = params.evaluate.batch_size
    encode = model.encode_queries if side == "queries" else model.encode_documents
    run_device = torch.device(device())
    model.to(run_device)
    if model.encoder is None:
        base = EmbeddingTable.load(cache, expect_model=params.model.base).rows(ids)
    else:
        base = model.encoder.encode([texts[i] for i in ids], batch_size=batch, device=run_device, description=f"encode {side}")
    parts = [
        encode(torch.from_numpy(base[i : i + batch]).to(run_device)).float().cpu().numpy()
        for i in range(0, len(ids), batch)
    ]
    return ids, np.concatenate(parts)


def run_evaluate(params: Params, name: str) -> None:
    from ragcun.evaluation import evaluate_results, results_from_search
    from ragcun.isotropy import sample_vectors
    from ragcun.devices import select_device
    from ragcun.search import exact_search

    select_device()
    model = load_trained(params, name)
    config = params.evaluate
    metrics: dict[str, dict[str, float]] = {}
    per_query: dict[str, dict[str, float]] = {}
    samples: dict[str, np.ndarray] = {}
    for dataset_name in config.datasets:
        dataset: BeirDataset = load_dataset(paths.beir_folder(dataset_name), "test", dataset_name)
        corpus_texts = {doc_id: document_text(doc) for doc_id, doc in dataset.corpus.items()}
        query_ids, query_vectors = encode_side(model, params, dataset.queries, paths.eval_embeddings(dataset_name, "queries"), "queries")
        doc_ids, doc_vectors = encode_side(model, params, corpus_texts, paths.eval_embeddings(dataset_name, "corpus"), "corpus")
        # One extra hit per query, so dropping a document whose id equals the query id (BEIR's rule) still
        # leaves top_k results.
        indices, scores = exact_search(
            query_vectors, doc_vectors, k=config.top_k + 1, score=model.heads.spec.score, chunk_size=config.chunk_size
        )
        results = results_from_search(query_ids, doc_ids, indices, scores, top_k=config.top_k)
        values, per_query_ndcg = evaluate_results(dataset.qrels, results, dataset=dataset_name)
        metrics[dataset_name] = {key: values[key] for key in ("ndcg@10", "map@100", "recall@100", "mrr@10")}
        per_query[dataset_name] = per_query_ndcg
        seed = params.isotropy.seed
        samples[f"{dataset_name}/corpus"] = sample_vectors(doc_vectors, params.isotropy.max_vectors, seed)
        samples[f"{dataset_name}/queries"] = sample_vectors(query_vectors, params.isotropy.max_vectors, seed)
    from safetensors.numpy import save_file

    with atomic_path(paths.evaluation_outputs(name)) as staging:
        staging.mkdir(parents=True)
        write_json(staging / "per_query_ndcg@10.json", per_query)
        save_file({key: np.ascontiguousarray(value, dtype=np.float32) for key, value in samples.items()}, str(staging / "vectors.safetensors"))
    write_json(paths.beir_metrics(name), metrics)
    # The training summary lives in the (DVC-cached) model folder so that train@ARCH keeps DVC's run-cache;
    # its git-tracked copy for `dvc metrics diff` is published here.
    write_json(paths.train_metrics(name), read_json(paths.checkpoint(name) / TRAINING_SUMMARY))


# ---------------------------------------------------------------- isotropy


def run_isotropy(params: Params, name: str) -> None:
    from safetensors.numpy import load_file

    from ragcun.isotropy import eigenvalue_spectrum, measure_isotropy, sample_vectors
    from ragcun.report import plot_eigenvalue_spectrum

    path = paths.evaluation_outputs(name) / "vectors.safetensors"
    if not path.is_file():
        raise DataError(f"architecture {name!r}: no evaluation embeddings at {path}; run `dvc repro evaluate@{name}`")
    samples = load_file(str(path))
    config = params.isotropy
    result: dict[str, float] = {}
    spectra = {}
    for side, prefix in (("corpus", ""), ("queries", "query_")):
        pooled = np.concatenate([samples[f"{d}/{side}"] for d in params.evaluate.datasets])
        pooled = sample_vectors(pooled, config.max_vectors, config.seed)
        measures = measure_isotropy(pooled, seed=config.seed, sigreg_directions=config.sigreg_directions)
        result.update({f"{prefix}{key}": float(value) for key, value in measures.items()})
        spectra[side] = eigenvalue_spectrum(pooled)
    write_json(paths.isotropy_metrics(name), result)
    plot_eigenvalue_spectrum(spectra["corpus"], paths.REPORTS / "spectra" / f"{name}.png", title=f"{name}: document embeddings")


# ---------------------------------------------------------------- report


def run_report(params: Params) -> None:
    from ragcun.report import write_report

    names = list(params.architectures)
    beir, per_query, isotropy, train = {}, {}, {}, {}
    for name in names:
        for store, path in ((beir, paths.beir_metrics(name)), (isotropy, paths.isotropy_metrics(name)), (train, paths.train_metrics(name))):
            if not path.is_file():
                raise DataError(f"architecture {name!r} has no {path} yet: run `dvc repro`")
            store[name] = read_json(path)
        per_query[name] = read_json(paths.evaluation_outputs(name) / "per_query_ndcg@10.json")
    write_report(
        paths.REPORTS,
        beir=beir,
        per_query=per_query,
        isotropy=isotropy,
        train=train,
        descriptions={name: spec.description for name, spec in params.architectures.items()},
        architectures=names,
        baseline=params.report.baseline,
        test=params.report.significance,
        correction=params.report.correction,
        alpha=params.report.alpha,
    )
