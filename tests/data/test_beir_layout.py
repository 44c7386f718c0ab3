"""BEIR-layout reading: the same data model as beir's loader, with errors that name dataset, file and line."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from beir.datasets.data_loader import GenericDataLoader

from ragcun.data.beir_layout import document_text, load_corpus, load_dataset, load_qrels
from ragcun.errors import DataError


def make_dataset(folder: Path, *, corpus_lines=None, qrels_rows=None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    corpus = corpus_lines or [json.dumps({"_id": f"d{i}", "title": f"T{i}", "text": f"text {i}"}) for i in range(4)]
    (folder / "corpus.jsonl").write_text("\n".join(corpus) + "\n")
    (folder / "queries.jsonl").write_text("\n".join(json.dumps({"_id": f"q{i}", "text": f"query {i}"}) for i in range(3)) + "\n")
    (folder / "qrels").mkdir(exist_ok=True)
    rows = qrels_rows if qrels_rows is not None else ["q0\td1\t1", "q1\td2\t2", "q1\td3\t1"]
    (folder / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\n" + "\n".join(rows) + "\n")
    return folder


def test_same_data_model_as_beirs_loader(tmp_path):
    folder = make_dataset(tmp_path / "toy")
    ours = load_dataset(folder)
    corpus, queries, qrels = GenericDataLoader(str(folder)).load(split="test")
    assert ours.corpus == corpus
    assert ours.queries == queries
    assert ours.qrels == qrels


def test_document_text_is_title_space_text_stripped():
    assert document_text({"title": "", "text": "body "}) == "body"
    assert document_text({"title": "Head", "text": "body"}) == "Head body"


def test_malformed_jsonl_line_names_file_and_line(tmp_path):
    lines = [json.dumps({"_id": "d0", "text": "a"}), '{"_id": "d1", "text": ', json.dumps({"_id": "d2", "text": "c"})]
    folder = make_dataset(tmp_path / "bad", corpus_lines=lines)
    with pytest.raises(DataError, match=r"bad/corpus.jsonl:2: malformed JSON"):
        load_corpus(folder)


def test_missing_qrels_names_dataset_and_file(tmp_path):
    folder = make_dataset(tmp_path / "noqrels")
    (folder / "qrels" / "test.tsv").unlink()
    with pytest.raises(DataError, match=r"dataset 'noqrels': missing file .*qrels/test.tsv"):
        load_dataset(folder)


def test_empty_corpus_names_dataset(tmp_path):
    folder = make_dataset(tmp_path / "empty")
    (folder / "corpus.jsonl").write_text("")
    with pytest.raises(DataError, match=r"dataset 'empty': .*corpus.jsonl is empty"):
        load_dataset(folder)


def test_qrels_pointing_at_unknown_documents_are_counted_and_reported(tmp_path, caplog):
    folder = make_dataset(tmp_path / "dangling", qrels_rows=["q0\td1\t1", "q0\tnope\t1", "q1\td2\t1", "q1\td3\t1"])
    with caplog.at_level(logging.WARNING):
        dataset = load_dataset(folder)
    assert "1 of 4 judgements" in caplog.text and "nope" in caplog.text
    assert set(dataset.queries) == {"q0", "q1"}
    assert dataset.unknown_documents == 1


@pytest.mark.parametrize("rows", [["q0\td1\t1", "q0\tnope\t1", "q1\tgone\t1"], ["q0\tnope\t1", "q1\tgone\t1"]])
def test_qrels_pointing_mostly_at_unknown_documents_are_an_error_with_the_counts(tmp_path, rows):
    # Most judgements unretrievable: the NDCG@10 would be near zero for a reason that has nothing to do with the
    # model (a corpus from another version of the dataset, a wrong id column).
    folder = make_dataset(tmp_path / "mismatched", qrels_rows=rows)
    unknown = len(rows) - (1 if "q0\td1\t1" in rows else 0)
    with pytest.raises(DataError, match=rf"'mismatched': {unknown} of {len(rows)} judgements .*qrels/test.tsv"):
        load_dataset(folder)


def test_qrels_matching_no_query_is_an_error(tmp_path):
    folder = make_dataset(tmp_path / "orphan", qrels_rows=["x9\td1\t1"])
    with pytest.raises(DataError, match="no query in queries.jsonl has judgements"):
        load_dataset(folder)


def test_bad_score_names_line(tmp_path):
    folder = make_dataset(tmp_path / "score", qrels_rows=["q0\td1\tyes"])
    with pytest.raises(DataError, match=r"test.tsv:2: score 'yes' is not an integer"):
        load_qrels(folder, "test")


def test_a_utf8_byte_order_mark_and_crlf_line_ends_are_accepted(tmp_path):
    # Notepad and Excel on Windows save "UTF-8" with a byte-order mark and CRLF line ends.
    folder = make_dataset(tmp_path / "windows")
    for name in ("corpus.jsonl", "queries.jsonl", "qrels/test.tsv"):
        path = folder / name
        path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes().replace(b"\n", b"\r\n"))
    dataset = load_dataset(folder)
    assert set(dataset.corpus) == {"d0", "d1", "d2", "d3"}
    assert dataset.qrels == {"q0": {"d1": 1}, "q1": {"d2": 2, "d3": 1}}
    assert "\ufeff" not in "".join(dataset.corpus) + "".join(dataset.queries)


def test_a_byte_order_mark_is_accepted_by_every_json_reader(tmp_path):
    from ragcun.io import read_json

    path = tmp_path / "settings.json"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps({"a": 1}).encode())
    assert read_json(path) == {"a": 1}
