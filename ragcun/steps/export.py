"""The export part of the evaluate@ARCH stage: the architecture as a sentence-transformers model folder with its
model card, which states the metrics evaluate has just measured.

One folder per architecture, from the training seed with the best dev MRR@10 (seeds are replicates of one
configuration; exporting every seed would copy the base model's weights once per seed for nothing)."""

from __future__ import annotations

from ragcun import paths
from ragcun.config import DataConfig, Params
from ragcun.io import read_json
from ragcun.steps.common import TRAINING_SUMMARY, load_trained, uses_encoder
from ragcun.seeds import seed_values
from ragcun.training_summary import EXAMPLES


def training_data_text(data: DataConfig, examples: float | None) -> str:
    """One line naming the training collection, for the model card."""
    if data.source == "sample":
        sample = data.sample
        text = (f"ragcun's embedded synthetic sample ({sample.train_passages} passages, {sample.train_queries} "
                f"training queries, seed {sample.seed})")
    elif data.source == "msmarco":
        text = f"MS MARCO passage ranking, {data.train_queries or 'all'} training queries (seed {data.seed})"
    else:
        text = f"the BEIR-layout collection `{data.train_dataset}` (qrels/train.tsv; seed {data.seed})"
    mined = f"; {examples:g} training examples with BM25-mined and random negatives" if examples else ""
    return text + mined


def export_architecture(params: Params, name: str, metrics: dict[str, dict]) -> None:
    """Writes exports/NAME from the best dev seed; ``metrics`` are the architecture's BEIR metrics per dataset."""
    from ragcun.embedding import load_encoder
    from ragcun.encoder import resolve_model_path
    from ragcun.export import CardFacts, architecture_pattern, best_seed, build_sentence_transformer, model_card, save_export

    architecture = params.architecture(name)
    summary = read_json(paths.model_folder(name) / TRAINING_SUMMARY)
    seed = best_seed(summary, architecture.seeds)
    model = load_trained(params, name, seed)
    encoder = model.encoder if model.encoder is not None else load_encoder(params)
    exported = build_sentence_transformer(model.heads, encoder, resolve_model_path(params.model.base))
    per_seed = seed_values(summary, seed)
    facts = CardFacts(
        architecture=name,
        base_model=params.model.base,
        pattern=architecture_pattern(model.heads),
        score=model.heads.spec.score,
        fine_tuned=uses_encoder(architecture),
        lambdas=architecture.lambdas if architecture.spec.trained else {},
        training_data=training_data_text(params.data, per_seed.get(EXAMPLES)) if architecture.spec.trained
        else "none (the untrained base model)",
        seed=seed,
        seeds=architecture.seeds,
        embedding_dim=model.heads.spec.embedding_dim,
        training=summary,
        metrics={key: value for key, value in metrics.items() if isinstance(value, dict)},
        in_domain=params.data.in_domain_dataset(),
    )
    save_export(paths.export_folder(name), exported, model_card(facts))
