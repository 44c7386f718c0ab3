"""Training examples for the three training modes, as keys into one table of texts.

Every text the training side sees has a key: `q/<query id>` a query, `d/<doc id>` a document, `m/<doc id>`
the document's masked copy (mode `xy_masked`), `a/<doc id>` and `b/<doc id>` its first and second half (mode
`doc_split`). The embed stage embeds exactly `training_texts(...)` once; frozen-base training then looks rows up
by key and never runs the encoder, while fine-tuning tokenises the same texts.

- pairs: query → its (first) positive passage, with the mined hard and random negatives.
- xy_masked: the masked copy of a document → the document itself (the JEPA context/target pair); in-batch
  negatives only.
- doc_split: the first half of a document → its second half; in-batch negatives only.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ragcun.config import TrainingMode
from ragcun.data.beir_layout import Corpus, Queries, document_text
from ragcun.errors import DataError


@dataclass(frozen=True)
class Example:
    query: str
    positive: str
    negatives: tuple[str, ...] = ()


@dataclass(frozen=True)
class DevQuery:
    query: str
    positives: tuple[str, ...]
    candidates: tuple[str, ...]


def query_key(query_id: str) -> str:
    return f"q/{query_id}"


def document_key(doc_id: str) -> str:
    return f"d/{doc_id}"


def split_key(key: str) -> tuple[str, str]:
    kind, _, identifier = key.partition("/")
    return kind, identifier


def mask_words(text: str, *, strategy: str, ratio: float, rng: random.Random, mask_token: str) -> str:
    """Replace about `ratio` of the words by `mask_token`: one contiguous span, scattered words, the start or
    the end. At least one word is masked and, for texts of two words or more, at least one is kept."""
    words = text.split()
    if not words:
        return text
    count = min(max(1, round(ratio * len(words))), max(1, len(words) - 1))
    if strategy == "span":
        start = rng.randrange(0, len(words) - count + 1)
        masked = set(range(start, start + count))
    elif strategy == "token":
        masked = set(rng.sample(range(len(words)), count))
    elif strategy == "prefix":
        masked = set(range(count))
    elif strategy == "suffix":
        masked = set(range(len(words) - count, len(words)))
    else:
        raise ValueError(f"unknown masking strategy {strategy!r}")
    return " ".join(mask_token if i in masked else word for i, word in enumerate(words))


def split_halves(text: str) -> tuple[str, str]:
    """First and second half of a text by words (the first half gets the odd word)."""
    words = text.split()
    middle = (len(words) + 1) // 2
    return " ".join(words[:middle]), " ".join(words[middle:])


def pair_examples(mined: Iterable[Mapping[str, Any]]) -> list[Example]:
    examples = []
    for record in mined:
        positives = record["positive_ids"]
        if not positives:
            continue
        negatives = list(record.get("hard_negative_ids", [])) + list(record.get("random_negative_ids", []))
        examples.append(
            Example(
                query=query_key(record["query_id"]),
                positive=document_key(positives[0]),
                negatives=tuple(document_key(doc_id) for doc_id in negatives),
            )
        )
    return examples


def training_documents(mined: Iterable[Mapping[str, Any]]) -> list[str]:
    """The documents the self-supervised modes learn from: the positives of the training queries, in order."""
    seen: dict[str, None] = {}
    for record in mined:
        for doc_id in record["positive_ids"]:
            seen.setdefault(doc_id, None)
    return list(seen)


def build_examples(mode: TrainingMode, mined: Sequence[Mapping[str, Any]]) -> list[Example]:
    if mode == "pairs":
        examples = pair_examples(mined)
    elif mode == "xy_masked":
        examples = [Example(query=f"m/{doc}", positive=document_key(doc)) for doc in training_documents(mined)]
    elif mode == "doc_split":
        examples = [Example(query=f"a/{doc}", positive=f"b/{doc}") for doc in training_documents(mined)]
    else:
        raise ValueError(f"unknown training mode {mode!r}")
    if not examples:
        raise DataError(f"no training examples for mode {mode!r}: the mined training file has no positives")
    return examples


def dev_queries(records: Iterable[Mapping[str, Any]], limit: int | None = None) -> list[DevQuery]:
    result = [
        DevQuery(
            query=query_key(record["query_id"]),
            positives=tuple(document_key(doc) for doc in record["positive_ids"]),
            candidates=tuple(document_key(doc) for doc in record["candidate_ids"]),
        )
        for record in records
    ]
    return result[:limit] if limit is not None else result


def resolve_texts(
    keys: Iterable[str],
    corpus: Corpus,
    queries: Queries,
    *,
    seed: int,
    masking_strategy: str,
    masking_ratio: float,
    mask_token: str,
) -> dict[str, str]:
    """The text behind every key. Masking is seeded per document, so a copy is the same in every run."""
    texts: dict[str, str] = {}
    for key in keys:
        if key in texts:
            continue
        kind, identifier = split_key(key)
        if kind == "q":
            if identifier not in queries:
                raise DataError(f"query {identifier!r} of the mined data is missing from queries.jsonl")
            texts[key] = queries[identifier]
            continue
        if identifier not in corpus:
            raise DataError(f"document {identifier!r} of the mined data is missing from corpus.jsonl")
        text = document_text(corpus[identifier])
        if kind == "d":
            texts[key] = text
        elif kind == "m":
            rng = random.Random(f"{seed}:{identifier}")
            texts[key] = mask_words(text, strategy=masking_strategy, ratio=masking_ratio, rng=rng, mask_token=mask_token)
        elif kind in ("a", "b"):
            first, second = split_halves(text)
            texts[key] = first if kind == "a" else second
        else:
            raise ValueError(f"unknown text key {key!r}")
    return texts


def example_keys(examples: Iterable[Example], dev: Iterable[DevQuery]) -> list[str]:
    """Every key the examples and dev queries use, each once, in first-seen order."""
    keys: dict[str, None] = {}
    for example in examples:
        keys.setdefault(example.query, None)
        keys.setdefault(example.positive, None)
        for negative in example.negatives:
            keys.setdefault(negative, None)
    for item in dev:
        keys.setdefault(item.query, None)
        for key in item.positives + item.candidates:
            keys.setdefault(key, None)
    return list(keys)
