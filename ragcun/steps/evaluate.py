"""The evaluate@ARCH stage: BEIR evaluation of every training seed's model on every dataset of
evaluate.datasets, and the isotropy measures of the same retrieval vectors.

Isotropy is measured here, on the vectors just searched with, rather than in a stage of its own: a separate
stage wrote a sample of every seed's vectors to disk for the next process to read back and paid a process
start and DVC's per-stage bookkeeping for ~0.5 s of arithmetic (issue 12); a change to `isotropy.*` now reruns
this stage, whose retrieval costs about as much as the measures themselves on the embedded default.

The sentence-transformers export (ragcun/steps/export.py) is written here too, once the metrics its model card
states are known: as a stage of its own it cost a process start and DVC's bookkeeping (re-reading and rewriting
dvc.lock, ~1.2 s a stage) for ~0.5 s of work; a change to the export code now reruns the evaluation (~1.7 s an
architecture on the embedded default) instead of only the export."""

from __future__ import annotations

import numpy as np
import torch

from ragcun import paths
from ragcun.config import Params
from ragcun.data.beir_layout import BeirDataset, document_text, load_dataset
from ragcun.devices import compute_device, select_device
from ragcun.io import atomic_path, read_json, write_json
from ragcun.steps.common import TRAINING_SUMMARY, load_trained
from ragcun.steps.export import export_architecture

METRIC_KEYS = ("ndcg@10", "map@100", "recall@100", "mrr@10")
UNKNOWN_DOCUMENTS_KEY = "qrels_unknown_documents"  # judgements on documents the corpus lacks
# (side of encode_side, prefix of the isotropy keys, column of the spectra file)
ISOTROPY_SIDES = (("corpus", "", "documents"), ("queries", "query_", "queries"))


def run(params: Params, name: str) -> None:
    """Metrics as mean, std and per-seed values; per-query NDCG@10 averaged over seeds (what the report's
    paired test uses); isotropy of each seed's documents and queries (all datasets pooled), spectra averaged
    over seeds rank by rank."""
    from ragcun.embedding import load_table
    from ragcun.evaluation import evaluate_results, results_from_search
    from ragcun.isotropy import eigenvalue_spectrum, measure_isotropy, sample_vectors, write_spectra
    from ragcun.retrieval import encode_side
    from ragcun.search import exact_search
    from ragcun.seeds import aggregate

    select_device()
    device = torch.device(compute_device())
    architecture = params.architecture(name)
    config, iso = params.evaluate, params.isotropy
    models = {seed: load_trained(params, name, seed) for seed in architecture.seeds}
    metrics: dict[str, dict] = {}
    per_query: dict[str, dict[str, float]] = {}
    # seed -> side -> one sample of vectors per dataset, pooled over datasets for the isotropy measures
    samples: dict[int, dict[str, list[np.ndarray]]] = {seed: {"corpus": [], "queries": []} for seed in models}
    for dataset_name in config.datasets:
        dataset: BeirDataset = load_dataset(paths.beir_folder(dataset_name), "test", dataset_name)
        texts = {"queries": dataset.queries, "corpus": {doc_id: document_text(doc) for doc_id, doc in dataset.corpus.items()}}
        tables = {side: load_table(params, paths.eval_embeddings(dataset_name, side)) for side in texts}
        per_seed: dict[int, dict[str, float]] = {}
        query_sums: dict[str, float] = {}
        for seed, model in models.items():
            vectors = {}
            for side in texts:
                table = tables[side] if model.encoder is None else None
                vectors[side] = encode_side(model, texts[side], side, batch_size=config.batch_size, device=device, base_table=table)
            (query_ids, query_vectors), (doc_ids, doc_vectors) = vectors["queries"], vectors["corpus"]
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
            for side, (_, side_vectors) in vectors.items():
                samples[seed][side].append(sample_vectors(side_vectors, iso.max_vectors, iso.seed))
        metrics[dataset_name] = aggregate(per_seed)
        # Not a per-seed metric (no _std twin): a property of the dataset that explains a low NDCG@10.
        metrics[dataset_name][UNKNOWN_DOCUMENTS_KEY] = dataset.unknown_documents
        per_query[dataset_name] = {query_id: total / len(models) for query_id, total in query_sums.items()}

    isotropy: dict[int, dict[str, float]] = {}
    spectra: dict[str, list[np.ndarray]] = {column: [] for _, _, column in ISOTROPY_SIDES}
    for seed, sides in samples.items():
        isotropy[seed] = {}
        for side, prefix, column in ISOTROPY_SIDES:
            pooled = sample_vectors(np.concatenate(sides[side]), iso.max_vectors, iso.seed)
            measures = measure_isotropy(pooled, seed=iso.seed, sigreg_directions=iso.sigreg_directions)
            isotropy[seed].update({f"{prefix}{key}": float(value) for key, value in measures.items()})
            spectra[column].append(eigenvalue_spectrum(pooled))

    # Before any metric is published: a model that cannot be exported fails the stage with nothing new written.
    export_architecture(params, name, metrics)
    with atomic_path(paths.evaluation_outputs(name)) as staging:
        staging.mkdir(parents=True)
        write_json(staging / "per_query_ndcg@10.json", per_query)
    write_json(paths.beir_metrics(name), metrics)
    # Plain data, drawn by the report stage for all architectures at once (and by `dvc plots`).
    write_spectra(paths.eigenvalue_spectra(name), {column: np.mean(values, axis=0) for column, values in spectra.items()})
    write_json(paths.isotropy_metrics(name), aggregate(isotropy))
    # The training summary lives in the (DVC-cached) model folder so that train@ARCH keeps DVC's run-cache;
    # its git-tracked copy for `dvc metrics diff` is published here.
    write_json(paths.train_metrics(name), read_json(paths.model_folder(name) / TRAINING_SUMMARY))
