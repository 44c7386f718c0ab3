"""What the per-architecture steps share: the compute device, building and loading a model."""

from __future__ import annotations

from ragcun import paths
from ragcun.config import Params, ResolvedArchitecture
from ragcun.embedding_store import EmbeddingTable
from ragcun.errors import CheckpointError
from ragcun.model import RetrievalModel, build_model, checkpoint_config, load_checkpoint, read_checkpoint_config

TRAINING_SUMMARY = "training.json"


def new_model(architecture: ResolvedArchitecture, with_encoder: bool) -> RetrievalModel:
    """The architecture's model; with_encoder loads the base encoder into it (fine-tuning), otherwise the
    heads take their input dimension from the frozen-base cache."""
    encoder = None
    if with_encoder:
        from ragcun.embedding import load_encoder

        encoder = load_encoder(architecture.params)
        base_dim = encoder.dimension
    else:
        base_dim = EmbeddingTable.load(paths.TRAIN_EMBEDDINGS).dimension
    return build_model(architecture, base_dim, encoder)


def uses_encoder(architecture: ResolvedArchitecture) -> bool:
    """Only a trained architecture with a fine-tuned base runs the encoder; all others read the cache."""
    return architecture.spec.trained and not architecture.freeze_base


def load_trained(params: Params, name: str, seed: int) -> RetrievalModel:
    """The checkpoint of architecture ``name`` trained with ``seed``, in eval mode."""
    architecture = params.architecture(name)
    folder = paths.checkpoint(name, seed)
    if not (folder / "config.json").is_file():
        raise CheckpointError(f"architecture {name!r} has no checkpoint yet at {folder}: run `dvc repro train@{name}`")
    found = read_checkpoint_config(folder)
    model = new_model(architecture, with_encoder=bool(found.get("fine_tuned_encoder")))
    load_checkpoint(folder, model, checkpoint_config(architecture, model.heads.spec, uses_encoder(architecture)))
    model.eval()
    return model
