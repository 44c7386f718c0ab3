"""The evaluate@ARCH stage on the tiny project: what it writes per dataset beside the metrics."""

from __future__ import annotations

import json
from pathlib import Path

from ragcun import paths
from ragcun.config import load_params
from ragcun.report.table import build_comparison
from ragcun.steps.configure import run as run_configure
from ragcun.steps.embed import run as run_embed
from ragcun.steps.evaluate import run as run_evaluate
from ragcun.steps.train import run as run_train


def test_the_count_of_judgements_on_unknown_documents_is_written_beside_the_metrics(tiny_project):
    qrels = Path("data/beir/tiny-eval/qrels/test.tsv")
    with qrels.open("a", encoding="utf-8") as handle:
        handle.write("t0\tmissing-1\t1\nt1\tmissing-2\t1\n")
    params = load_params()
    run_configure(params)
    run_embed(params)
    run_train(load_params(paths.architecture_config("base")), "base")
    run_evaluate(params, "base")
    metrics = json.loads(paths.beir_metrics("base").read_text())
    assert metrics["tiny-eval"]["qrels_unknown_documents"] == 2
    assert 0 < metrics["tiny-eval"]["ndcg@10"] < 1
    # The report reads the file as it is, the new key included.
    train = json.loads(paths.train_metrics("base").read_text())
    isotropy = {"eigen_score": 0.1, "isoscore": 0.1, "effective_rank": 1.0, "mean_cosine": 0.0, "sigreg": 1.0}
    frame = build_comparison(["base"], {"base": metrics}, {"base": isotropy}, {"base": train}, "base")
    assert frame.at["base", "ndcg@10 tiny-eval"] == metrics["tiny-eval"]["ndcg@10"]


def test_isotropy_is_measured_on_the_vectors_the_stage_searched_with(tiny_project):
    import numpy as np
    import torch

    from ragcun.data.beir_layout import document_text, load_dataset
    from ragcun.embedding import load_table
    from ragcun.isotropy import eigenvalue_spectrum, measure_isotropy, read_spectra, sample_vectors
    from ragcun.retrieval import encode_side
    from ragcun.steps.common import load_trained

    params = load_params()
    run_configure(params)
    run_embed(params)
    run_train(load_params(paths.architecture_config("isotropic")), "isotropic")
    run_evaluate(params, "isotropic")
    written = json.loads(paths.isotropy_metrics("isotropic").read_text())
    dataset = load_dataset(paths.beir_folder("tiny-eval"), "test", "tiny-eval")
    iso = params.isotropy
    seeds = params.architecture("isotropic").seeds
    assert sorted(written["seeds"]) == sorted(str(seed) for seed in seeds)
    documents = []
    for seed in seeds:
        model = load_trained(params, "isotropic", seed)
        corpus = {doc_id: document_text(doc) for doc_id, doc in dataset.corpus.items()}
        table = load_table(params, paths.eval_embeddings("tiny-eval", "corpus"))
        _, vectors = encode_side(model, corpus, "corpus", batch_size=params.evaluate.batch_size, device=torch.device("cpu"), base_table=table)
        pooled = sample_vectors(sample_vectors(vectors, iso.max_vectors, iso.seed), iso.max_vectors, iso.seed)
        expected = measure_isotropy(pooled, seed=iso.seed, sigreg_directions=iso.sigreg_directions)
        for key, value in expected.items():
            assert written["seeds"][str(seed)][key] == value  # the corpus side: keys without a prefix
        assert "query_isoscore" in written["seeds"][str(seed)]
        documents.append(eigenvalue_spectrum(pooled))
    spectra = read_spectra(paths.eigenvalue_spectra("isotropic"), require=("documents", "queries"))
    np.testing.assert_allclose(spectra["documents"], np.mean(documents, axis=0), rtol=1e-6)
