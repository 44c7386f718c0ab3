"""Retrieval vectors of one side of a dataset (queries or corpus) from a model: the frozen base's cached
embeddings or the fine-tuned encoder, then the architecture's query or document head."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import torch

from ragcun.embedding_store import EmbeddingTable
from ragcun.model import RetrievalModel

SIDES = ("queries", "corpus")


@torch.no_grad()
def encode_side(
    model: RetrievalModel,
    texts: Mapping[str, str],
    side: str,
    *,
    batch_size: int,
    device: torch.device,
    base_table: EmbeddingTable | None = None,
) -> tuple[list[str], np.ndarray]:
    """``texts``' ids in order and their retrieval vectors [N, D] (float32).

    A model without an encoder (frozen base) reads its input from ``base_table``, the side's cached base
    embeddings; a fine-tuned one encodes the texts itself.
    """
    if side not in SIDES:
        raise ValueError(f"side must be one of {SIDES}, not {side!r}")
    ids = list(texts)
    encode = model.encode_queries if side == "queries" else model.encode_documents
    model.to(device)
    if model.encoder is None:
        if base_table is None:
            raise ValueError("a model with a frozen base needs the side's cached base embeddings (base_table)")
        base = base_table.rows(ids)
    else:
        base = model.encoder.encode([texts[i] for i in ids], batch_size=batch_size, device=device, description=f"encode {side}")
    parts = [
        encode(torch.from_numpy(base[i : i + batch_size]).to(device)).float().cpu().numpy()
        for i in range(0, len(ids), batch_size)
    ]
    return ids, np.concatenate(parts) if parts else np.zeros((0, model.heads.spec.embedding_dim), dtype=np.float32)
