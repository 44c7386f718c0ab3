"""The embedded sample: deterministic, BEIR layout, consistent qrels, disjoint splits, not trivial for BM25."""

from __future__ import annotations

import csv
import json
import os
import re
import subprocess
import sys
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np
import pytest
import pytrec_eval
from beir.datasets.data_loader import GenericDataLoader
from rank_bm25 import BM25Okapi

import ragcun
from ragcun.config import SampleConfig, parse_params
from ragcun.data.sample import EVAL_NAME, build_sample, generate_sample
from ragcun.errors import ConfigError


def tokens(text: str) -> list[str]:
    return re.findall(r"\w+", text.lower())


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def read_qrels(path: Path) -> tuple[list[str], list[tuple[str, str, int]]]:
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle, delimiter="\t"))
    return rows[0], [(query, doc, int(score)) for query, doc, score in rows[1:]]


def folder_bytes(folder: Path) -> dict[str, bytes]:
    return {str(path.relative_to(folder)): path.read_bytes() for path in sorted(folder.rglob("*")) if path.is_file()}


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict[str, int]]:
    root = tmp_path_factory.mktemp("sample")
    counts = generate_sample(root / "train", root / "beir", SampleConfig(seed=13))
    return root / "train", root / "beir" / EVAL_NAME, counts


def test_same_seed_gives_byte_identical_files_and_another_seed_differs(tmp_path, sample):
    train_dir, eval_dir, _ = sample
    generate_sample(tmp_path / "again", tmp_path / "beir", SampleConfig(seed=13))
    assert folder_bytes(tmp_path / "again") == folder_bytes(train_dir)
    assert folder_bytes(tmp_path / "beir" / EVAL_NAME) == folder_bytes(eval_dir)

    generate_sample(tmp_path / "other", tmp_path / "beir-other", SampleConfig(seed=14))
    other_corpus = (tmp_path / "other" / "corpus.jsonl").read_text(encoding="utf-8")
    assert other_corpus != (train_dir / "corpus.jsonl").read_text(encoding="utf-8")
    other_texts = {doc["text"] for doc in read_jsonl(tmp_path / "beir-other" / EVAL_NAME / "corpus.jsonl")}
    assert len(other_texts & {doc["text"] for doc in read_jsonl(eval_dir / "corpus.jsonl")}) < 10


def test_output_does_not_depend_on_the_interpreter_hash_seed(tmp_path, sample):
    """DVC reruns in fresh interpreters: string hashing (set order) must not leak into the files."""
    train_dir, eval_dir, _ = sample
    script = (
        "import sys; from pathlib import Path; from ragcun.data.sample import generate_sample; from ragcun.config import SampleConfig; "
        "generate_sample(Path(sys.argv[1]), Path(sys.argv[2]), SampleConfig(seed=13))"
    )
    environment = {**os.environ, "PYTHONHASHSEED": "4242", "PYTHONPATH": str(Path(ragcun.__file__).parents[1])}
    subprocess.run(
        [sys.executable, "-c", script, str(tmp_path / "train"), str(tmp_path / "beir")], env=environment, check=True
    )
    assert folder_bytes(tmp_path / "train") == folder_bytes(train_dir)
    assert folder_bytes(tmp_path / "beir" / EVAL_NAME) == folder_bytes(eval_dir)


def test_sizes_meet_the_minimums_and_match_the_returned_counts(sample):
    train_dir, eval_dir, counts = sample
    train_queries = read_jsonl(train_dir / "queries.jsonl")
    _, train_qrels = read_qrels(train_dir / "qrels" / "train.tsv")
    _, dev_qrels = read_qrels(train_dir / "qrels" / "dev.tsv")
    _, test_qrels = read_qrels(eval_dir / "qrels" / "test.tsv")

    assert len(read_jsonl(train_dir / "corpus.jsonl")) == counts["train_passages"] == 6000
    assert len({query for query, _, _ in train_qrels}) == counts["train_queries"] == 2400
    assert len({query for query, _, _ in dev_qrels}) == counts["dev_queries"] == 300
    assert len(train_queries) == 2700
    assert len(read_jsonl(eval_dir / "corpus.jsonl")) == counts["eval_documents"] == 3000
    assert len(read_jsonl(eval_dir / "queries.jsonl")) == counts["eval_queries"] == 300
    assert len({query for query, _, _ in test_qrels}) == 300
    assert (counts["train_qrels"], counts["dev_qrels"], counts["eval_qrels"]) == (
        len(train_qrels),
        len(dev_qrels),
        len(test_qrels),
    )


def test_layout_loads_with_beir(sample):
    train_dir, eval_dir, _ = sample
    for folder, split, expected in ((train_dir, "train", 2400), (train_dir, "dev", 300), (eval_dir, "test", 300)):
        corpus, queries, qrels = GenericDataLoader(str(folder)).load(split=split)
        assert len(queries) == len(qrels) == expected
        assert all(set(doc) == {"title", "text"} for doc in corpus.values())
    for path in (train_dir / "qrels" / "train.tsv", train_dir / "qrels" / "dev.tsv", eval_dir / "qrels" / "test.tsv"):
        assert read_qrels(path)[0] == ["query-id", "corpus-id", "score"]
    for path in (train_dir / "corpus.jsonl", eval_dir / "corpus.jsonl"):
        assert all(set(doc) == {"_id", "title", "text"} for doc in read_jsonl(path))
    # MS MARCO-like passages have no titles; the evaluation set titles its entity pages like BEIR sets do.
    assert all(doc["title"] == "" for doc in read_jsonl(train_dir / "corpus.jsonl"))
    assert sum(doc["title"] != "" for doc in read_jsonl(eval_dir / "corpus.jsonl")) == 3000


def test_every_qrel_points_at_an_existing_document_and_query(sample):
    train_dir, eval_dir, _ = sample
    for folder, splits in ((train_dir, ("train", "dev")), (eval_dir, ("test",))):
        doc_ids = [doc["_id"] for doc in read_jsonl(folder / "corpus.jsonl")]
        query_ids = [query["_id"] for query in read_jsonl(folder / "queries.jsonl")]
        assert len(set(doc_ids)) == len(doc_ids) and len(set(query_ids)) == len(query_ids)
        judged: set[str] = set()
        for split in splits:
            _, rows = read_qrels(folder / "qrels" / f"{split}.tsv")
            assert {doc for _, doc, _ in rows} <= set(doc_ids)
            assert {query for query, _, _ in rows} <= set(query_ids)
            judged |= {query for query, _, _ in rows}
        assert judged == set(query_ids)  # no query without a judgement


def test_relevance_is_graded_with_one_answering_passage_per_query(sample):
    _, eval_dir, _ = sample
    _, rows = read_qrels(eval_dir / "qrels" / "test.tsv")
    grades = defaultdict(list)
    for query, _, score in rows:
        grades[query].append(score)
    assert {score for _, _, score in rows} == {1, 2}
    assert all(sorted(scores) in ([2], [1, 2]) for scores in grades.values())


def test_answering_passages_share_a_rare_name_with_their_query(sample):
    """The passage judged relevant names what the query names (an entity, a person or a place)."""
    _, eval_dir, _ = sample
    corpus = {doc["_id"]: tokens(doc["title"] + " " + doc["text"]) for doc in read_jsonl(eval_dir / "corpus.jsonl")}
    queries = {query["_id"]: set(tokens(query["text"])) for query in read_jsonl(eval_dir / "queries.jsonl")}
    document_frequency = Counter(token for words in corpus.values() for token in set(words))
    _, rows = read_qrels(eval_dir / "qrels" / "test.tsv")
    for query, doc, _ in rows:
        rare = {token for token in queries[query] if document_frequency[token] <= len(corpus) // 50}
        assert rare & set(corpus[doc]), (query, doc)


def test_passages_and_queries_have_ms_marco_like_lengths(sample):
    train_dir, eval_dir, _ = sample
    for folder in (train_dir, eval_dir):
        words = np.array([len(doc["text"].split()) for doc in read_jsonl(folder / "corpus.jsonl")])
        assert words.min() >= 40 and words.max() <= 80
        query_words = np.array([len(query["text"].split()) for query in read_jsonl(folder / "queries.jsonl")])
        assert 4 <= np.median(query_words) <= 10 and query_words.max() <= 12


def test_training_and_evaluation_entities_are_disjoint(sample):
    built = build_sample(SampleConfig(seed=13))
    train_names = {token for entity in built.train.entities for token in tokens(entity.name)}
    eval_names = {token for entity in built.evaluation.entities for token in tokens(entity.name)}
    assert len(built.train.entities) > 500 and len(built.evaluation.entities) > 200
    # Musicians' first names are made up too, so every token of every entity name is unique to its side.
    assert not train_names & eval_names
    # No training entity is even mentioned in the evaluation files, and vice versa.
    train_dir, eval_dir, _ = sample
    for folder, foreign in ((eval_dir, train_names), (train_dir, eval_names)):
        texts = [doc["title"] + " " + doc["text"] for doc in read_jsonl(folder / "corpus.jsonl")]
        texts += [query["text"] for query in read_jsonl(folder / "queries.jsonl")]
        assert not {token for text in texts for token in tokens(text)} & foreign
    assert {entity.domain.key for entity in built.train.entities}.isdisjoint(
        {entity.domain.key for entity in built.evaluation.entities}
    )


def test_dev_queries_are_held_out_from_training_queries(sample):
    train_dir, _, _ = sample
    text = {query["_id"]: query["text"] for query in read_jsonl(train_dir / "queries.jsonl")}
    _, train_rows = read_qrels(train_dir / "qrels" / "train.tsv")
    _, dev_rows = read_qrels(train_dir / "qrels" / "dev.tsv")
    train_ids, dev_ids = {q for q, _, _ in train_rows}, {q for q, _, _ in dev_rows}
    assert not train_ids & dev_ids
    assert not {text[q] for q in train_ids} & {text[q] for q in dev_ids}
    # Different facts, not just different wordings: no dev query is answered by a training query's passage.
    train_answers = {doc for _, doc, score in train_rows if score == 2}
    dev_answers = {doc for _, doc, score in dev_rows if score == 2}
    assert len(dev_answers) == 300 and not train_answers & dev_answers


def bm25_ndcg_at_10(folder: Path, split: str) -> float:
    corpus, queries, qrels = GenericDataLoader(str(folder)).load(split=split)
    doc_ids = list(corpus)
    index = BM25Okapi([tokens(corpus[i]["title"] + " " + corpus[i]["text"]) for i in doc_ids])
    run = {}
    for query_id, text in queries.items():
        scores = index.get_scores(tokens(text))
        top = np.argsort(-scores)[:100]
        run[query_id] = {doc_ids[i]: float(scores[i]) for i in top}
    results = pytrec_eval.RelevanceEvaluator(qrels, {"ndcg_cut.10"}).evaluate(run)
    return float(np.mean([results[q]["ndcg_cut_10"] for q in qrels]))


def test_bm25_finds_the_evaluation_set_neither_trivial_nor_hopeless(sample):
    _, eval_dir, _ = sample
    assert 0.3 <= bm25_ndcg_at_10(eval_dir, "test") <= 0.85


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"train_passages": 0}, "data.sample.train_passages: must be ≥ 100"),
        ({"eval_queries": -1}, "data.sample.eval_queries: must be ≥ 10"),
        ({"seed": 1.5}, "data.sample.seed"),
    ],
)
def test_bad_sizes_fail_at_validation_in_one_line(arguments, message):
    # the sizes' bounds are config.SampleConfig's, the only place they are written
    with pytest.raises(ConfigError, match=message):
        parse_params({"data": {"sample": arguments}})


@pytest.mark.parametrize(
    "arguments",
    [
        {"train_passages": 200, "train_queries": 2400},
        {"eval_documents": 150, "eval_queries": 300},
    ],
)
def test_bad_arguments_raise_config_error_and_leave_existing_folders_alone(tmp_path, arguments):
    (tmp_path / "train").mkdir()
    (tmp_path / "train" / "keep.txt").write_text("old", encoding="utf-8")
    with pytest.raises(ConfigError):
        generate_sample(tmp_path / "train", tmp_path / "beir", SampleConfig(**arguments))
    assert [path.name for path in tmp_path.iterdir()] == ["train"]
    assert (tmp_path / "train" / "keep.txt").read_text(encoding="utf-8") == "old"


def test_regenerating_replaces_the_folders_whole(tmp_path):
    small = {"train_passages": 400, "train_queries": 100, "dev_queries": 20, "eval_documents": 300, "eval_queries": 30}
    (tmp_path / "beir" / EVAL_NAME).mkdir(parents=True)
    (tmp_path / "beir" / EVAL_NAME / "stale.txt").write_text("old", encoding="utf-8")
    counts = generate_sample(tmp_path / "train", tmp_path / "beir", SampleConfig(seed=3, **small))
    assert counts["train_passages"] == 400 and counts["eval_queries"] == 30
    assert sorted(path.name for path in (tmp_path / "beir" / EVAL_NAME).iterdir()) == [
        "corpus.jsonl",
        "qrels",
        "queries.jsonl",
    ]
    assert sorted(path.name for path in tmp_path.iterdir()) == ["beir", "train"]  # no temporary leftovers
