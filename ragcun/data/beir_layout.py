"""Reading datasets in BEIR layout into beir's plain-dict data model.

A BEIR folder holds `corpus.jsonl` ({"_id", "title", "text"}), `queries.jsonl` ({"_id", "text"}) and
`qrels/<split>.tsv` (header `query-id corpus-id score`). The result is exactly what
`beir.datasets.data_loader.GenericDataLoader` returns (a test checks that), but every problem is reported with
the dataset, file and line, which beir's loader does not do: it raises a bare KeyError or JSONDecodeError.
"""

from __future__ import annotations

import csv
import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from ragcun.errors import DataError
from ragcun.io import READ_ENCODING, iter_jsonl

logger = logging.getLogger(__name__)

Corpus = dict[str, dict[str, str]]
Queries = dict[str, str]
Qrels = dict[str, dict[str, int]]


def document_text(document: dict[str, str]) -> str:
    """The text a model sees for a document: BEIR's and MTEB's `title + " " + text`, stripped."""
    return (document.get("title", "") + " " + document.get("text", "")).strip()


def _require(path: Path, dataset: str) -> Path:
    if not path.is_file():
        raise DataError(f"dataset {dataset!r}: missing file {path}")
    return path


def load_corpus(folder: str | Path, dataset: str | None = None) -> Corpus:
    folder = Path(folder)
    dataset = dataset or folder.name
    path = _require(folder / "corpus.jsonl", dataset)
    corpus: Corpus = {}
    for line_number, record in enumerate(iter_jsonl(path), start=1):
        if "_id" not in record:
            raise DataError(f"{path}: record {line_number} has no '_id'")
        corpus[str(record["_id"])] = {"text": str(record.get("text", "")), "title": str(record.get("title", ""))}
    if not corpus:
        raise DataError(f"dataset {dataset!r}: {path} is empty")
    return corpus


def load_queries(folder: str | Path, dataset: str | None = None) -> Queries:
    folder = Path(folder)
    dataset = dataset or folder.name
    path = _require(folder / "queries.jsonl", dataset)
    queries: Queries = {}
    for line_number, record in enumerate(iter_jsonl(path), start=1):
        if "_id" not in record or "text" not in record:
            raise DataError(f"{path}: record {line_number} needs '_id' and 'text'")
        queries[str(record["_id"])] = str(record["text"])
    if not queries:
        raise DataError(f"dataset {dataset!r}: {path} is empty")
    return queries


def iter_qrels(path: Path) -> Iterator[tuple[int, str, str, int]]:
    """(line number, query id, document id, score) of every judgement of a qrels file; a malformed line raises
    DataError naming file and line."""
    with path.open(encoding=READ_ENCODING, newline="") as handle:
        reader = csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_MINIMAL)
        for line_number, row in enumerate(reader, start=1):
            if line_number == 1 and row and row[0] == "query-id":
                continue
            if not row:
                continue
            if len(row) != 3:
                raise DataError(f"{path}:{line_number}: expected 3 tab-separated columns, got {len(row)}")
            try:
                score = int(row[2])
            except ValueError:
                raise DataError(f"{path}:{line_number}: score {row[2]!r} is not an integer") from None
            yield line_number, row[0], row[1], score


def load_qrels(folder: str | Path, split: str, dataset: str | None = None) -> Qrels:
    folder = Path(folder)
    dataset = dataset or folder.name
    path = _require(folder / "qrels" / f"{split}.tsv", dataset)
    qrels: Qrels = {}
    for _, query_id, doc_id, score in iter_qrels(path):
        qrels.setdefault(query_id, {})[doc_id] = score
    if not qrels:
        raise DataError(f"dataset {dataset!r}: {path} holds no judgements")
    return qrels


@dataclass
class QrelsCheck:
    """What of a qrels file points at documents or queries the dataset does not have."""

    judgements: int = 0
    unknown_documents: int = 0
    unknown_queries: int = 0
    unknown_document_examples: list[str] = field(default_factory=list)


def check_qrels(qrels: Qrels, corpus: Corpus, queries: Queries) -> QrelsCheck:
    check = QrelsCheck()
    for query_id, judged in qrels.items():
        if query_id not in queries:
            check.unknown_queries += 1
        for doc_id in judged:
            check.judgements += 1
            if doc_id not in corpus:
                check.unknown_documents += 1
                if len(check.unknown_document_examples) < 3:
                    check.unknown_document_examples.append(doc_id)
    return check


@dataclass
class BeirDataset:
    name: str
    corpus: Corpus
    queries: Queries
    qrels: Qrels
    unknown_documents: int = 0  # judgements whose document is not in the corpus (relevant but unretrievable)


# Above this share of judgements on documents the corpus lacks, the dataset is refused: its NDCG@10 would say
# more about a mismatched corpus (another version, a wrong id column) than about the model.
MAX_UNKNOWN_DOCUMENT_SHARE = 0.5


def load_dataset(folder: str | Path, split: str = "test", dataset: str | None = None) -> BeirDataset:
    """Load a BEIR folder, keeping only the queries that have judgements (as beir's loader does).

    Judgements that point at unknown documents are counted and reported (more than half of them is an error);
    a split whose judgements match no query at all is an error.
    """
    folder = Path(folder)
    name = dataset or folder.name
    corpus = load_corpus(folder, name)
    queries = load_queries(folder, name)
    qrels = load_qrels(folder, split, name)
    check = check_qrels(qrels, corpus, queries)
    if check.unknown_documents > MAX_UNKNOWN_DOCUMENT_SHARE * check.judgements:
        raise DataError(
            f"dataset {name!r}: {check.unknown_documents} of {check.judgements} judgements in qrels/{split}.tsv "
            f"point at documents missing from corpus.jsonl (e.g. {', '.join(check.unknown_document_examples)}); "
            f"more than {MAX_UNKNOWN_DOCUMENT_SHARE:.0%}: do the corpus and qrels come from the same dataset?"
        )
    if check.unknown_documents:
        logger.warning(
            "dataset %r: %d of %d judgements in qrels/%s.tsv point at documents missing from corpus.jsonl "
            "(e.g. %s); they count as relevant-but-unretrievable, as in BEIR",
            name, check.unknown_documents, check.judgements, split, ", ".join(check.unknown_document_examples),
        )
    judged_queries = {qid: text for qid, text in queries.items() if qid in qrels}
    if not judged_queries:
        raise DataError(f"dataset {name!r}: no query in queries.jsonl has judgements in qrels/{split}.tsv")
    return BeirDataset(name=name, corpus=corpus, queries=judged_queries, qrels=qrels,
                       unknown_documents=check.unknown_documents)


def write_dataset(
    folder: Path,
    corpus: list[dict[str, str]],
    queries: dict[str, list[dict[str, str]]],
    qrels: dict[str, list[tuple[str, str, int]]],
) -> None:
    """Write a new BEIR-layout folder: corpus.jsonl, queries.jsonl (every split's queries, in order) and
    qrels/<split>.tsv, in the format the loaders above read."""
    folder.mkdir(parents=True)
    with (folder / "corpus.jsonl").open("w", encoding="utf-8") as handle:
        for document in corpus:
            handle.write(json.dumps(document, ensure_ascii=False) + "\n")
    with (folder / "queries.jsonl").open("w", encoding="utf-8") as handle:
        for split_queries in queries.values():
            for query in split_queries:
                handle.write(json.dumps(query, ensure_ascii=False) + "\n")
    (folder / "qrels").mkdir()
    for split, rows in qrels.items():
        lines = ["query-id\tcorpus-id\tscore"] + [f"{query_id}\t{doc_id}\t{score}" for query_id, doc_id, score in rows]
        (folder / "qrels" / f"{split}.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
