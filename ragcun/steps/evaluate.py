"""The evaluate@ARCH stage: BEIR evaluation on every dataset of evaluate.datasets."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ragcun import paths
from ragcun.config import Params
from ragcun.data.beir_layout import BeirDataset, document_text, load_dataset
from ragcun.io import atomic_path, read_json, write_json
from ragcun.model import RetrievalModel
from ragcun.devices import compute_device, select_device
from ragcun.steps.common import TRAINING_SUMMARY, load_trained


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
    run_device = torch.device(compute_device())
    model.to(run_device)
    if model.encoder is None:
        from ragcun.embedding import load_table

        base = load_table(params, cache).rows(ids)
    else:
        base = model.encoder.encode([texts[i] for i in ids], batch_size=batch, device=run_device, description=f"encode {side}")
    parts = [
        encode(torch.from_numpy(base[i : i + batch]).to(run_device)).float().cpu().numpy()
        for i in range(0, len(ids), batch)
    ]
    return ids, np.concatenate(parts)


METRIC_KEYS = ("ndcg@10", "map@100", "recall@100", "mrr@10")
UNKNOWN_DOCUMENTS_KEY = "qrels_unknown_documents"  # judgements on documents the corpus lacks


def run(params: Params, name: str) -> None:
    """Evaluate every training seed's model on every dataset: metrics as mean, std and per-seed values,
    per-query NDCG@10 averaged over seeds (what the report's paired test uses), and a sample of each seed's
    embeddings for isotropy@ARCH."""
    from ragcun.evaluation import evaluate_results, results_from_search
    from ragcun.isotropy import sample_vectors
    from ragcun.search import exact_search
    from ragcun.seeds import aggregate, seed_label

    select_device()
    architecture = params.architecture(name)
    config = params.evaluate
    seeds = architecture.seeds
    models = {seed: load_trained(params, name, seed) for seed in seeds}
    metrics: dict[str, dict] = {}
    per_query: dict[str, dict[str, float]] = {}
    samples: dict[str, np.ndarray] = {}
    for dataset_name in config.datasets:
        dataset: BeirDataset = load_dataset(paths.beir_folder(dataset_name), "test", dataset_name)
        corpus_texts = {doc_id: document_text(doc) for doc_id, doc in dataset.corpus.items()}
        per_seed: dict[int, dict[str, float]] = {}
        query_sums: dict[str, float] = {}
        for seed, model in models.items():
            query_ids, query_vectors = encode_side(model, params, dataset.queries, paths.eval_embeddings(dataset_name, "queries"), "queries")
            doc_ids, doc_vectors = encode_side(model, params, corpus_texts, paths.eval_embeddings(dataset_name, "corpus"), "corpus")
            # One extra hit per query, so dropping a document whose id equals the query id (BEIR's rule) still
            # leaves top_k results.
            indices, scores = exact_search(
                query_vectors, doc_vectors, k=config.top_k + 1, score=model.heads.spec.score, chunk_size=config.chunk_size
            )
            results = results_from_search(query_ids, doc_ids, indices, scores, top_k=config.top_k)
            values, per_query_ndcg = evaluate_results(dataset.qrels, results, dataset=dataset_name)
            per_seed[seed] = {key: values[key] for key in METRIC_KEYS}
            for query_id, value in per_query_ndcg.items():
                query_sums[query_id] = query_sums.get(query_id, 0.0) + value
            sample_seed = params.isotropy.seed
            samples[f"{seed_label(seed)}/{dataset_name}/corpus"] = sample_vectors(doc_vectors, params.isotropy.max_vectors, sample_seed)
            samples[f"{seed_label(seed)}/{dataset_name}/queries"] = sample_vectors(query_vectors, params.isotropy.max_vectors, sample_seed)
        metrics[dataset_name] = aggregate(per_seed)
        # Not a per-seed metric (no _std twin): a property of the dataset that explains a low NDCG@10.
        metrics[dataset_name][UNKNOWN_DOCUMENTS_KEY] = dataset.unknown_documents
        per_query[dataset_name] = {query_id: total / len(models) for query_id, total in query_sums.items()}
    from safetensors.numpy import save_file

    with atomic_path(paths.evaluation_outputs(name)) as staging:
        staging.mkdir(parents=True)
        write_json(staging / "per_query_ndcg@10.json", per_query)
        save_file({key: np.ascontiguousarray(value, dtype=np.float32) for key, value in samples.items()}, str(staging / "vectors.safetensors"))
    write_json(paths.beir_metrics(name), metrics)
    # The training summary lives in the (DVC-cached) model folder so that train@ARCH keeps DVC's run-cache;
    # its git-tracked copy for `dvc metrics diff` is published here.
    write_json(paths.train_metrics(name), read_json(paths.model_folder(name) / TRAINING_SUMMARY))
