"""data.source: beir and a local MS MARCO: the training collection from a BEIR-layout folder already on disk,
with no network (every test passes a URL where nothing listens)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from beir.datasets.data_loader import GenericDataLoader

from ragcun.data.beir_layout import load_qrels
from ragcun.data.download import ensure_beir_training, ensure_msmarco_training
from ragcun.errors import ConfigError, DataError

CORPUS = {f"p{i}": {"title": f"title {i}", "text": f"passage {i}"} for i in range(40)}
TRAIN = {f"t{i}": {f"p{i}": 1, **({f"p{i + 20}": 2} if i % 4 == 0 else {})} for i in range(20)}
TRAIN["t-none"] = {"p1": 0}  # judged, but no positive: never drawn as a dev query
DEV = {f"v{i}": {f"p{i + 10}": 1} for i in range(6)}
TEST = {"x0": {"p0": 1}}
QUERIES = {q: f"query {q}" for q in [*TRAIN, *DEV, *TEST, "unjudged"]}


def write_folder(folder: Path, splits: dict[str, dict], corpus=CORPUS, queries=QUERIES) -> Path:
    (folder / "qrels").mkdir(parents=True)
    (folder / "corpus.jsonl").write_text("".join(json.dumps({"_id": i, **d}) + "\n" for i, d in corpus.items()))
    (folder / "queries.jsonl").write_text("".join(json.dumps({"_id": i, "text": t}) + "\n" for i, t in queries.items()))
    for split, qrels in splits.items():
        rows = ["query-id\tcorpus-id\tscore\n"] + [f"{q}\t{d}\t{s}\n" for q, docs in qrels.items() for d, s in docs.items()]
        (folder / "qrels" / f"{split}.tsv").write_text("".join(rows))
    return folder


def train_ids(root: Path, split: str = "train") -> set[str]:
    with (root / "qrels" / f"{split}.tsv").open(newline="") as handle:
        return {row[0] for row in list(csv.reader(handle, delimiter="\t"))[1:]}


def build(source: Path, root: Path, **settings) -> Path:
    options = {"train_queries": None, "dev_queries": 4, "seed": 0} | settings
    return ensure_beir_training(root, source, source.name, **options)


def test_a_folder_with_a_dev_split_keeps_it_and_trains_on_the_train_split(tmp_path):
    source = write_folder(tmp_path / "beir" / "mine", {"train": TRAIN, "dev": DEV, "test": TEST})
    root = build(source, tmp_path / "train")
    corpus, queries, qrels = GenericDataLoader(str(root)).load(split="train")
    assert corpus == CORPUS
    assert set(qrels) == set(TRAIN) and all(qrels[q] == TRAIN[q] for q in qrels)
    dev = load_qrels(root, "dev")
    assert len(dev) == 4 and set(dev) <= set(DEV)
    assert not set(dev) & set(qrels)
    assert set(queries) == set(qrels)  # the loader keeps judged queries; the file holds train and dev ones
    kept = {json.loads(line)["_id"] for line in (root / "queries.jsonl").read_text().splitlines()}
    assert kept == set(TRAIN) | set(dev)


def test_without_a_dev_split_a_seeded_disjoint_dev_split_is_drawn_from_training_queries(tmp_path):
    source = write_folder(tmp_path / "mine", {"train": TRAIN})
    first, again = build(source, tmp_path / "a", seed=3), build(source, tmp_path / "b", seed=3)
    other = build(source, tmp_path / "c", seed=4)
    dev, train = train_ids(first, "dev"), train_ids(first)
    assert len(dev) == 4 and not dev & train and dev | train == set(TRAIN)
    assert "t-none" in train  # a query without a positive is no dev query
    for name in ("corpus.jsonl", "queries.jsonl", "qrels/train.tsv", "qrels/dev.tsv"):
        assert (first / name).read_bytes() == (again / name).read_bytes()
    assert train_ids(other, "dev") != dev


def test_train_queries_caps_the_training_queries_nested_and_keeps_all_when_fewer(tmp_path):
    source = write_folder(tmp_path / "mine", {"train": TRAIN, "dev": DEV})
    small, larger = build(source, tmp_path / "a", train_queries=5), build(source, tmp_path / "b", train_queries=10)
    everything = build(source, tmp_path / "c", train_queries=10_000)
    assert len(train_ids(small)) == 5 and train_ids(small) < train_ids(larger) < train_ids(everything) == set(TRAIN)


def test_a_dev_count_that_leaves_no_training_query_is_a_config_error(tmp_path):
    source = write_folder(tmp_path / "mine", {"train": TRAIN})
    with pytest.raises(ConfigError, match=r"data.dev_queries=20 leaves no training query: .*has 20 queries"):
        build(source, tmp_path / "train", dev_queries=20)
    assert not (tmp_path / "train").exists()


def break_line(path: Path, line_number: int, text: str) -> None:
    lines = path.read_text().splitlines(keepends=True)
    lines[line_number - 1] = text
    path.write_text("".join(lines))


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda f: (f / "qrels" / "train.tsv").unlink(), r"dataset 'mine': missing .*mine/qrels/train\.tsv \(data.source: beir trains on its train split\)"),
        (lambda f: (f / "corpus.jsonl").write_text(""), r"dataset 'mine': .*mine/corpus\.jsonl is empty"),
        (lambda f: (f / "corpus.jsonl").write_text("\n\n"), r"dataset 'mine': .*mine/corpus\.jsonl is empty"),
        (lambda f: break_line(f / "corpus.jsonl", 7, '{"_id": "p6", "text": \n'), r"mine/corpus\.jsonl:7: malformed JSON"),
        (lambda f: break_line(f / "queries.jsonl", 3, '{"_id": "t2"}\n'), r"mine/queries\.jsonl:3: expected a string 'text'"),
        (lambda f: break_line(f / "qrels" / "train.tsv", 5, "t3\tp3\n"), r"mine/qrels/train\.tsv:5: expected 3 tab-separated columns"),
        (lambda f: break_line(f / "qrels" / "train.tsv", 4, "t2\tnowhere\t1\n"),
         r"dataset 'mine': .*mine/qrels/train\.tsv:4: document 'nowhere' is not in corpus\.jsonl"),
        (lambda f: break_line(f / "qrels" / "dev.tsv", 3, "ghost\tp1\t1\n"),
         r"dataset 'mine': .*mine/qrels/dev\.tsv:3: query 'ghost' is not in queries\.jsonl"),
        (lambda f: (f / "qrels" / "dev.tsv").write_text("query-id\tcorpus-id\tscore\n"), r"mine/qrels/dev\.tsv holds no judgements"),
    ],
    ids=["no-train-split", "empty-corpus", "blank-corpus", "bad-json", "query-without-text", "short-qrels-line",
         "unknown-document", "unknown-query", "empty-dev-split"],
)
def test_bad_input_is_one_error_naming_dataset_file_and_line_and_writes_nothing(tmp_path, damage, message):
    source = write_folder(tmp_path / "mine", {"train": TRAIN, "dev": DEV})
    damage(source)
    with pytest.raises(DataError, match=message):
        build(source, tmp_path / "train")
    assert not (tmp_path / "train").exists()


def test_a_missing_folder_says_where_to_put_it(tmp_path):
    with pytest.raises(DataError, match=r"dataset 'absent': .*absent is missing; put a BEIR-layout folder there"):
        ensure_beir_training(tmp_path / "train", tmp_path / "absent", "absent", train_queries=None, dev_queries=2, seed=0)


def test_a_byte_order_mark_and_crlf_lines_are_read(tmp_path):
    source = write_folder(tmp_path / "mine", {"train": TRAIN, "dev": DEV})
    for name in ("corpus.jsonl", "queries.jsonl", "qrels/train.tsv"):
        path = source / name
        path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes().replace(b"\n", b"\r\n"))
    root = build(source, tmp_path / "train")
    assert GenericDataLoader(str(root)).load(split="train")[0] == CORPUS


def test_an_msmarco_folder_in_data_beir_is_used_without_network(tmp_path, closed_port_url):
    local = write_folder(tmp_path / "data" / "beir" / "msmarco", {"train": TRAIN, "dev": DEV, "test": TEST})
    root = ensure_msmarco_training(tmp_path / "data" / "train", base_url=closed_port_url, train_queries=6,
                                   dev_queries=3, seed=1, local=local)
    assert len(train_ids(root)) == 6 and train_ids(root) <= set(TRAIN)
    assert len(train_ids(root, "dev")) == 3 and train_ids(root, "dev") <= set(DEV)
    assert not (tmp_path / "data" / "downloads").exists()
