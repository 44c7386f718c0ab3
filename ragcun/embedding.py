"""The embed stage: the base model's embedding of every distinct text the frozen-base stages need, once.

Training texts (the training mode's examples and the dev queries with their candidates) go into one table;
each evaluation dataset gets a query table and a corpus table with BEIR's document text (title + " " + text).
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from ragcun.config import Params
from ragcun.data.beir_layout import BeirDataset, Corpus, Queries, document_text
from ragcun.embedding_store import EmbeddingTable
from ragcun.encoder import BaseEncoder
from ragcun.training_data import build_examples, dev_queries, example_keys, resolve_texts


def load_encoder(params: Params) -> BaseEncoder:
    model = params.model
    return BaseEncoder.from_pretrained(
        model.base, pooling=model.pooling, normalize=model.normalize, max_seq_length=model.max_seq_length
    )


def cache_meta(params: Params, encoder: BaseEncoder, name: str) -> dict[str, Any]:
    return {"model": params.model.base, "settings": asdict(encoder.settings), "name": name}


def mask_token(encoder: BaseEncoder) -> str:
    # A model without a mask token (rare for encoders) still gets a visible placeholder.
    return getattr(encoder.tokenizer, "mask_token", None) or "[MASK]"


def training_texts(
    params: Params,
    corpus: Corpus,
    queries: Queries,
    mined_train: list[dict],
    mined_dev: list[dict],
    mask: str,
) -> dict[str, str]:
    """Key → text for everything frozen-base training and dev selection look up."""
    examples = build_examples(params.train.mode, mined_train)
    dev = dev_queries(mined_dev, params.train.dev_queries)
    keys = example_keys(examples, dev)
    return resolve_texts(
        keys,
        corpus,
        queries,
        seed=params.seed,
        masking_strategy=params.train.masking.strategy,
        masking_ratio=params.train.masking.ratio,
        mask_token=mask,
    )


def embed_texts(params: Params, encoder: BaseEncoder, texts: dict[str, str], name: str, device: str) -> EmbeddingTable:
    keys = list(texts)
    vectors = encoder.encode(
        [texts[key] for key in keys], batch_size=params.embed.batch_size, device=device, description=f"embed {name}"
    )
    return EmbeddingTable(ids=keys, vectors=vectors, meta=cache_meta(params, encoder, name))


def embed_dataset(
    params: Params, encoder: BaseEncoder, dataset: BeirDataset, device: str
) -> tuple[EmbeddingTable, EmbeddingTable]:
    """(queries, corpus) tables of a BEIR dataset, keyed by the dataset's own ids."""
    query_texts = dict(dataset.queries)
    corpus_texts = {doc_id: document_text(doc) for doc_id, doc in dataset.corpus.items()}
    queries = embed_texts(params, encoder, query_texts, f"{dataset.name}/queries", device)
    corpus = embed_texts(params, encoder, corpus_texts, f"{dataset.name}/corpus", device)
    return queries, corpus
