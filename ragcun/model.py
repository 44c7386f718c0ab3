"""One composable retrieval model for every architecture: an optional base encoder E and the heads.

With a frozen base the encoder is not part of the trained model at all: its embeddings come from the embed
stage's cache, and `RetrievalModel` holds only the heads. With full fine-tuning the encoder is a trainable
submodule. Checkpoints are safetensors plus a JSON config naming the base model; loading against another base
model or another head shape fails loudly.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch import nn

from ragcun.config import Params, ResolvedArchitecture
from ragcun.encoder import BaseEncoder
from ragcun.errors import CheckpointError
from ragcun.heads import HeadOutputs, HeadsSpec, RetrievalHeads
from ragcun.io import atomic_path

CHECKPOINT_WEIGHTS = "model.safetensors"
CHECKPOINT_CONFIG = "config.json"


def heads_spec(architecture: ResolvedArchitecture, base_dim: int) -> HeadsSpec:
    spec = architecture.spec
    train = architecture.params.train
    return HeadsSpec(
        shared_head=spec.shared_head,
        predictor=spec.predictor,
        ema_target=spec.ema_target,
        ema_decay=train.ema_decay,
        score=architecture.score,
        query_uses_predictor=spec.query_uses_predictor,
        use_head=spec.trained,
        in_dim=base_dim,
        out_dim=train.output_dim or base_dim,
        dropout=train.dropout,
    )


def build_model(architecture: ResolvedArchitecture, base_dim: int, encoder: BaseEncoder | None = None) -> RetrievalModel:
    """The architecture's model on base vectors of ``base_dim``; ``encoder`` when the base is fine-tuned.
    Builds every architecture the params schema accepts (tests/test_validation_builds.py)."""
    return RetrievalModel(RetrievalHeads(heads_spec(architecture, base_dim)), encoder)


class RetrievalModel(nn.Module):
    """heads(E(text)) where E is run here (fine-tuning) or was run once by the embed stage (frozen base)."""

    def __init__(self, heads: RetrievalHeads, encoder: BaseEncoder | None = None) -> None:
        super().__init__()
        self.heads = heads
        self.encoder = encoder

    def base_embeddings(self, features: dict[str, torch.Tensor] | torch.Tensor) -> torch.Tensor:
        """Cached base vectors pass through; tokenised texts go through the encoder."""
        if isinstance(features, torch.Tensor):
            return features
        if self.encoder is None:
            raise ValueError("tokenised input given to a model without an encoder (frozen base uses the cache)")
        return self.encoder(**features)

    def forward(self, query: Any, positive: Any, negative: Any | None = None) -> HeadOutputs:
        query_x = self.base_embeddings(query)
        positive_x = self.base_embeddings(positive)
        negative_x = None
        if negative is not None:
            flat = self.base_embeddings(negative)
            negative_x = flat.reshape(query_x.shape[0], -1, flat.shape[-1])
        return self.heads(query_x, positive_x, negative_x)

    def encode_queries(self, features: Any) -> torch.Tensor:
        return self.heads.encode_queries(self.base_embeddings(features))

    def encode_documents(self, features: Any) -> torch.Tensor:
        return self.heads.encode_documents(self.base_embeddings(features))


def checkpoint_config(architecture: ResolvedArchitecture, spec: HeadsSpec, fine_tuned: bool) -> dict[str, Any]:
    params: Params = architecture.params
    return {
        "architecture": architecture.name,
        "base_model": params.model.base,
        "fine_tuned_encoder": fine_tuned,
        "heads": asdict(spec),
        "score": spec.score,
    }


def save_checkpoint(folder: str | Path, model: RetrievalModel, config: dict[str, Any]) -> None:
    """Write model.safetensors and config.json into `folder` atomically."""
    state = {name: tensor.detach().cpu().contiguous() for name, tensor in model.state_dict().items()}
    with atomic_path(folder) as staging:
        staging.mkdir(parents=True)
        save_file(state, str(staging / CHECKPOINT_WEIGHTS))
        (staging / CHECKPOINT_CONFIG).write_text(json.dumps(config, indent=2, sort_keys=True), encoding="utf-8")


def _first_line(error: BaseException) -> str:
    return (str(error).strip().splitlines() or [type(error).__name__])[0]


def read_weights(path: str | Path) -> dict[str, torch.Tensor]:
    """The tensors of a safetensors file; a truncated or corrupt one raises a one-line CheckpointError naming
    it (safetensors' own error is a bare SafetensorError without the file name)."""
    try:
        return load_file(str(path))
    except (SafetensorError, OSError) as error:
        raise CheckpointError(f"{path}: unreadable weights ({_first_line(error)}); delete it and retrain") from None


def read_checkpoint_config(folder: str | Path) -> dict[str, Any]:
    folder = Path(folder)
    path = folder / CHECKPOINT_CONFIG
    if not path.is_file() or not (folder / CHECKPOINT_WEIGHTS).is_file():
        raise CheckpointError(f"{folder}: no checkpoint (expected {CHECKPOINT_CONFIG} and {CHECKPOINT_WEIGHTS})")
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise CheckpointError(f"{path}: unreadable checkpoint config ({_first_line(error)}); delete it and retrain") from None
    if not isinstance(config, dict):
        raise CheckpointError(f"{path}: checkpoint config is not a JSON object; delete it and retrain")
    return config


def load_checkpoint(folder: str | Path, model: RetrievalModel, expected: dict[str, Any]) -> None:
    """Load weights strictly; a checkpoint made for another base model or head shape raises CheckpointError."""
    folder = Path(folder)
    found = read_checkpoint_config(folder)
    for key in ("base_model", "heads", "fine_tuned_encoder"):
        if found.get(key) != expected.get(key):
            raise CheckpointError(
                f"{folder}: checkpoint was trained with {key}={found.get(key)!r}, "
                f"but params.yaml gives {expected.get(key)!r}; retrain it (`dvc repro`)"
            )
    state = read_weights(folder / CHECKPOINT_WEIGHTS)
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as error:
        first = str(error).splitlines()[0]
        raise CheckpointError(f"{folder}: weights do not fit the model ({first})") from None
