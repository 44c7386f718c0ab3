"""data.source: beir end to end with the real `dvc` CLI: a researcher's own BEIR-layout folder with a train split
(no dev split: a seeded one is drawn) is trained on, evaluated in-domain on its test split and exported as a
sentence-transformers model that loads with no ragcun code. Tiny random transformer, 80 documents, two
architectures, one epoch."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from test_dvc_pipeline import REPOSITORY, new_project, run, small_params, stages_run

TOPICS = [
    ["river", "boat", "water", "fish", "bridge", "bank"],
    ["planet", "orbit", "star", "telescope", "moon", "comet"],
    ["bread", "flour", "oven", "yeast", "baker", "crust"],
    ["violin", "music", "concert", "string", "melody", "note"],
    ["engine", "fuel", "piston", "car", "wheel", "brake"],
    ["forest", "tree", "leaf", "root", "branch", "moss"],
    ["market", "price", "trade", "stock", "money", "share"],
    ["doctor", "patient", "fever", "clinic", "medicine", "nurse"],
]
FILLER = ["the", "a", "of", "with", "and", "near", "about", "old", "new", "small"]


def text(rng: random.Random, topic: int, length: int) -> str:
    return " ".join(rng.choice(TOPICS[topic]) if rng.random() < 0.6 else rng.choice(FILLER) for _ in range(length))


def write_collection(folder: Path) -> None:
    rng = random.Random(5)
    (folder / "qrels").mkdir(parents=True)
    documents = [{"_id": f"doc{i}", "title": TOPICS[i % 8][0], "text": text(rng, i % 8, 14)} for i in range(80)]
    queries, train, test = [], [], []
    for number in range(56):
        doc = rng.randrange(80)
        queries.append({"_id": f"q{number}", "text": text(rng, doc % 8, 4)})
        (train if number < 44 else test).append(f"q{number}\tdoc{doc}\t1\n")
    (folder / "corpus.jsonl").write_text("".join(json.dumps(d) + "\n" for d in documents))
    (folder / "queries.jsonl").write_text("".join(json.dumps(q) + "\n" for q in queries))
    for split, rows in (("train", train), ("test", test)):
        (folder / "qrels" / f"{split}.tsv").write_text("query-id\tcorpus-id\tscore\n" + "".join(rows))


@pytest.fixture(scope="module")
def beir_project(tmp_path_factory: pytest.TempPathFactory, tiny_english_model_dir: Path) -> Path:
    params = small_params(tiny_english_model_dir)
    params["data"].update({"source": "beir", "train_dataset": "mine", "dev_queries": 8, "train_queries": None})
    params["evaluate"]["datasets"] = ["mine"]
    architectures = yaml.safe_load((REPOSITORY / "params.yaml").read_text(encoding="utf-8"))["architectures"]
    # the raw base model (plain module chain) and separate heads (a Router) cover both export layouts
    params["architectures"] = {name: architectures[name] for name in ("base", "asymmetric_dual")}
    params["report"]["baseline"] = "base"
    return new_project(tmp_path_factory.mktemp("dvc-beir-project"), params,
                       prepare=lambda root: write_collection(root / "data" / "beir" / "mine"))


def test_a_beir_folder_with_a_train_split_runs_every_stage_and_exports_loadable_models(beir_project):
    result = run(["dvc", "repro"], beir_project)
    ran = stages_run(result.stdout)
    expected = {"configure", "download", "mine", "embed-train", "embed-train-derived", "embed-eval@mine", "report"}
    expected |= {f"{stage}@{name}" for stage in ("train", "evaluate")
                 for name in ("base", "asymmetric_dual")}
    assert expected <= ran
    train = beir_project / "data" / "train"
    train_queries = {line.split("\t")[0] for line in (train / "qrels/train.tsv").read_text().splitlines()[1:]}
    dev_queries = {line.split("\t")[0] for line in (train / "qrels/dev.tsv").read_text().splitlines()[1:]}
    assert len(dev_queries) == 8 and len(train_queries) == 36 and not train_queries & dev_queries
    assert json.loads((beir_project / "metrics/mining.json").read_text())["dev_queries"] == 8
    assert "ndcg@10 mine ‡" in (beir_project / "reports/comparison.md").read_text(encoding="utf-8")
    assert run(["dvc", "status", "-q"], beir_project, check=False).returncode == 0

    # A fresh interpreter with no network loads the export, and never imports ragcun doing so.
    loader = ("import sys; from sentence_transformers import SentenceTransformer; "
              "m = SentenceTransformer(sys.argv[1], local_files_only=True); "
              "assert 'ragcun' not in sys.modules; "
              "print(m.similarity_fn_name, m.encode_query(['a query']).shape, m.encode_document(['a doc']).shape)")
    for name, similarity in (("asymmetric_dual", "euclidean"), ("base", "cosine")):
        loaded = subprocess.run([sys.executable, "-I", "-c", loader, str(beir_project / "exports" / name)],
                                capture_output=True, text=True, cwd="/", timeout=300,
                                env={"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "PATH": "/usr/bin:/bin"})
        assert loaded.returncode == 0, loaded.stderr
        assert loaded.stdout.split()[0] == similarity and "(1, 16)" in loaded.stdout
    card = (beir_project / "exports/asymmetric_dual/README.md").read_text(encoding="utf-8")
    assert "BEIR-layout collection `mine`" in card and "mine (in-domain)" in card


def test_a_judgement_naming_an_unknown_document_fails_the_download_in_one_line(beir_project):
    qrels = beir_project / "data" / "beir" / "mine" / "qrels" / "train.tsv"
    original = qrels.read_text()
    try:
        qrels.write_text(original + "q3\tnot-a-doc\t1\n")
        result = run(["dvc", "repro", "download"], beir_project, check=False)
        assert result.returncode != 0
        assert ("error: dataset 'mine': data/beir/mine/qrels/train.tsv:46: document 'not-a-doc' is not in "
                "corpus.jsonl") in result.stderr
        assert "Traceback" not in result.stdout + result.stderr
    finally:
        qrels.write_text(original)
