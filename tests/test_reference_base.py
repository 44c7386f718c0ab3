"""The `base` row is a reference reproduction: the pipeline's embed + evaluate of the untrained model give the
same metrics as BEIR's own pipeline (models.SentenceBERT + DenseRetrievalExactSearch + EvaluateRetrieval) with the
real bundled all-MiniLM-L6-v2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from ragcun.config import load_params
from ragcun.data.sample import generate_sample
from ragcun.config import SampleConfig
from ragcun.encoder import resolve_model_path
from ragcun.steps.configure import run as run_configure
from ragcun.steps.embed import run as run_embed
from ragcun.steps.evaluate import run as run_evaluate
from ragcun.steps.mine import run as run_mine
from ragcun.steps.train import run as run_train

REPOSITORY = Path(__file__).resolve().parents[1]


@pytest.fixture
def sample_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    generate_sample(Path("data/train"), Path("data/beir"), SampleConfig(train_passages=120, train_queries=20, dev_queries=10,
                    eval_documents=150, eval_queries=25))
    # An ArguAna-like twist: one query whose id is also a document id, which BEIR ignores when retrieved.
    corpus = Path("data/beir/sample-eval/corpus.jsonl")
    first_query = json.loads(Path("data/beir/sample-eval/queries.jsonl").read_text().splitlines()[0])
    with corpus.open("a") as handle:
        handle.write(json.dumps({"_id": first_query["_id"], "title": "", "text": first_query["text"]}) + "\n")
    params = yaml.safe_load((REPOSITORY / "params.yaml").read_text())
    params["architectures"] = {"base": params["architectures"]["base"]}
    params["report"]["baseline"] = "base"
    params["mining"].update({"top_k": 20, "rank_max": 15, "dev_candidates": 20})
    params["train"]["dev_queries"] = 10
    Path("params.yaml").write_text(yaml.safe_dump(params))
    return tmp_path


def test_base_row_equals_beirs_own_evaluation_of_the_model(sample_project):
    from beir.datasets.data_loader import GenericDataLoader
    from beir.retrieval import models
    from beir.retrieval.evaluation import EvaluateRetrieval
    from beir.retrieval.search.dense import DenseRetrievalExactSearch

    params = load_params()
    run_configure(params)
    run_mine(params)
    run_embed(params)
    run_train(load_params("configs/base.json"), "base")
    run_evaluate(params, "base")
    ours = json.loads(Path("metrics/beir/base.json").read_text())["sample-eval"]

    corpus, queries, qrels = GenericDataLoader("data/beir/sample-eval").load(split="test")
    model = DenseRetrievalExactSearch(models.SentenceBERT(resolve_model_path(params.model.base)), batch_size=32)
    retriever = EvaluateRetrieval(model, k_values=[1, 3, 5, 10, 100], score_function="cos_sim")
    results = retriever.retrieve(corpus, queries)
    ndcg, map_, recall, _ = retriever.evaluate(qrels, results, retriever.k_values)
    mrr = retriever.evaluate_custom(qrels, results, retriever.k_values, metric="mrr")

    assert ours["ndcg@10"] == pytest.approx(ndcg["NDCG@10"], abs=1e-4)
    assert ours["map@100"] == pytest.approx(map_["MAP@100"], abs=1e-4)
    assert ours["recall@100"] == pytest.approx(recall["Recall@100"], abs=1e-4)
    assert ours["mrr@10"] == pytest.approx(mrr["MRR@10"], abs=1e-4)
