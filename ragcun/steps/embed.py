"""The embed stages: frozen-base embeddings of the training collection, of the texts the self-supervised modes
derive from it, and of each evaluation dataset, each stage encoding only its own texts (see ragcun.embedding)."""

from __future__ import annotations

from ragcun import paths
from ragcun.config import Params
from ragcun.data.beir_layout import load_corpus, load_dataset, load_qrels, load_queries
from ragcun.errors import ConfigError
from ragcun.devices import compute_device, select_device


def run_train(params: Params) -> None:
    """embed-train: every document and query of the training collection."""
    from ragcun.embedding import collection_texts, embed_texts, load_encoder

    select_device()
    corpus = load_corpus(paths.TRAIN_COLLECTION, "train")
    queries = load_queries(paths.TRAIN_COLLECTION, "train")
    embed_texts(params, load_encoder(params), collection_texts(corpus, queries), "train", compute_device(), paths.TRAIN_EMBEDDINGS)


def run_train_derived(params: Params) -> None:
    """embed-train-derived: the masked copies or halves of the training documents (mode xy_masked or doc_split)."""
    from ragcun.embedding import derived_texts, embed_texts, load_encoder, mask_token

    if params.train.mode == "pairs":
        # Nothing derived: an empty table, without loading the encoder.
        embed_texts(params, None, {}, "train-derived", compute_device(), paths.DERIVED_EMBEDDINGS)
        return
    select_device()
    corpus = load_corpus(paths.TRAIN_COLLECTION, "train")
    qrels = load_qrels(paths.TRAIN_COLLECTION, "train", "train")
    encoder = load_encoder(params)
    texts = derived_texts(params, corpus, qrels, mask_token(encoder))
    embed_texts(params, encoder, texts, "train-derived", compute_device(), paths.DERIVED_EMBEDDINGS)


def run_eval(params: Params, dataset: str) -> None:
    """embed-eval@DATASET: the queries and corpus of one evaluation dataset."""
    from ragcun.embedding import embed_dataset, load_encoder

    select_device()
    if dataset not in params.evaluate.datasets:
        raise ConfigError(f"dataset {dataset!r} is not in evaluate.datasets {params.evaluate.datasets}")
    loaded = load_dataset(paths.beir_folder(dataset), "test", dataset)
    embed_dataset(params, load_encoder(params), loaded, compute_device(), paths.eval_embeddings(dataset))


def run(params: Params) -> None:
    """Every embed stage in one call (tests, notebooks): every dataset is checked before anything is encoded."""
    for name in params.evaluate.datasets:
        load_dataset(paths.beir_folder(name), "test", name)
    run_train(params)
    run_train_derived(params)
    for name in params.evaluate.datasets:
        run_eval(params, name)
