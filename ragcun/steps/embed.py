"""The embed stage: base-model embeddings of every text the frozen-base stages need, once."""

from __future__ import annotations

from ragcun import paths
from ragcun.config import Params
from ragcun.data.beir_layout import load_corpus, load_dataset, load_queries
from ragcun.io import read_jsonl
from ragcun.steps.common import device


def run(params: Params) -> None:
    from ragcun.embedding import embed_dataset, embed_texts, load_encoder, mask_token, training_texts

    # download has checked the datasets already; checking again here costs one parse each, but a dataset edited
    # since (or a stage run on its own) then fails before anything is encoded or written, not halfway.
    for name in params.evaluate.datasets:
        load_dataset(paths.beir_folder(name), "test", name)
    encoder = load_encoder(params)
    corpus = load_corpus(paths.TRAIN_COLLECTION, "train")
    queries = load_queries(paths.TRAIN_COLLECTION, "train")
    texts = training_texts(
        params, corpus, queries, read_jsonl(paths.MINED_TRAIN), read_jsonl(paths.MINED_DEV), mask_token(encoder)
    )
    embed_texts(params, encoder, texts, "train", device()).save(paths.TRAIN_EMBEDDINGS)
    for name in params.evaluate.datasets:
        dataset = load_dataset(paths.beir_folder(name), "test", name)
        query_table, corpus_table = embed_dataset(params, encoder, dataset, device())
        query_table.save(paths.eval_embeddings(name, "queries"))
        corpus_table.save(paths.eval_embeddings(name, "corpus"))
