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
