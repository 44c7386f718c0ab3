"""An architecture as a sentence-transformers model folder, built from sentence-transformers' own modules only.

`SentenceTransformer(folder)` then loads it with no ragcun code and no `trust_remote_code`, and
`encode_query` / `encode_document` give the pipeline's retrieval vectors (tests check them to 1e-5):

    Transformer -> Pooling -> [Normalize] -> query/document modules

- the base encoder E is the Transformer (the base model's weights, or the fine-tuned ones), with the pooling,
  normalisation and max_seq_length the pipeline used;
- a projection head H = Linear(d, 2d) -> GELU -> Dropout -> Linear(2d, out) is ``Dense(GELU)``, ``Dropout``,
  ``Dense(Identity)``. Its calibration buffers (``(x - input_mean) * input_scale`` before the first layer,
  ``output_gain`` after the last) are affine, so they are folded into the two Dense layers' weights;
- shared heads are one module chain used for both sides; separate heads (and a query-side predictor) are a
  ``Router`` with a ``query`` and a ``document`` route: H_q (then P where ``query_uses_predictor``) for
  queries, H_d, or the EMA target head for ``lejepa_ema``, for documents. Plain ``encode`` takes the document
  route (Router's default for query/document models);
- the similarity function is the architecture's score (sentence-transformers' ``euclidean`` is the negative
  Euclidean distance, as ``ragcun.scoring``).

The residual predictor (q + alpha * tanh(P(q))) has a skip connection around a tanh that no built-in module
expresses, so an architecture that retrieves with it cannot be exported; architectures that only train with it
(``residual_gaussian``: retrieval uses H) export normally.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from ragcun.encoder import BaseEncoder
from ragcun.errors import ConfigError
from ragcun.heads import ProjectionHead, ResidualPredictor, RetrievalHeads
from ragcun.io import atomic_path
from ragcun.seeds import seed_values
from ragcun.training_summary import BEST_DEV_MRR, BEST_EPOCH, EXAMPLES, STEPS

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

# ragcun's score name -> sentence-transformers' similarity_fn_name (the same three functions).
SIMILARITY_FUNCTIONS = {"cosine": "cosine", "dot": "dot", "euclidean": "euclidean"}
MODEL_CARD = "README.md"


def dense_modules(head: ProjectionHead) -> list[nn.Module]:
    """H as Dense(GELU) -> Dropout -> Dense(Identity), with the calibration folded into the weights.

    W1 ((x - m) s) + b1 = (s W1) x + (b1 - s W1 m) and g (W2 h + b2) = (g W2) h + g b2; computed in float64
    so that the folded layers differ from the original by float32 rounding only.
    """
    from sentence_transformers.sentence_transformer.modules import Dense, Dropout

    first, activation, dropout, last = head.net
    if not isinstance(activation, nn.GELU) or activation.approximate != "none":
        raise ConfigError(f"export: the head's activation {activation!r} is not the exact GELU the export expects")
    scale = head.input_scale.double()
    mean = head.input_mean.double()
    gain = head.output_gain.double()
    first_weight = first.weight.detach().double() * scale
    first_bias = first.bias.detach().double() - first_weight @ mean
    last_weight = last.weight.detach().double() * gain
    last_bias = last.bias.detach().double() * gain
    return [
        Dense(first.in_features, first.out_features, activation_function=nn.GELU(),
              init_weight=first_weight.float(), init_bias=first_bias.float()),
        Dropout(float(dropout.p)),
        Dense(last.in_features, last.out_features, activation_function=nn.Identity(),
              init_weight=last_weight.float(), init_bias=last_bias.float()),
    ]


def query_modules(heads: RetrievalHeads) -> list[nn.Module]:
    """What turns E(query) into the query's retrieval vector (empty for the raw base model)."""
    spec = heads.spec
    if not spec.use_head:
        return []
    assert isinstance(heads.query_head, ProjectionHead)
    modules = dense_modules(heads.query_head)
    if spec.query_uses_predictor:
        if isinstance(heads.predictor, ResidualPredictor) or not isinstance(heads.predictor, ProjectionHead):
            raise ConfigError(
                "export: the residual predictor q + alpha*tanh(P(q)) has no sentence-transformers module; an "
                "architecture with predictor: residual and query_uses_predictor: true cannot be exported"
            )
        modules += dense_modules(heads.predictor)
    return modules


def document_modules(heads: RetrievalHeads) -> list[nn.Module]:
    """What turns E(document) into the document's retrieval vector: the EMA target, H_d or the shared H."""
    if not heads.spec.use_head:
        return []
    head = heads.target_head or heads.doc_head or heads.query_head
    assert isinstance(head, ProjectionHead)
    return dense_modules(head)


def is_symmetric(heads: RetrievalHeads) -> bool:
    """Queries and documents go through the same modules."""
    return heads.doc_head is None and heads.target_head is None and not heads.spec.query_uses_predictor


def encoder_modules(encoder: BaseEncoder, model_path: str) -> list[nn.Module]:
    """E as Transformer -> Pooling -> [Normalize], carrying ``encoder``'s weights (base or fine-tuned)."""
    from sentence_transformers.sentence_transformer.modules import Normalize, Pooling, Transformer

    settings = encoder.settings
    transformer = Transformer(model_path, max_seq_length=settings.max_seq_length,
                              model_kwargs={"use_safetensors": True})
    transformer.auto_model.load_state_dict(encoder.model.state_dict(), strict=True)
    modules: list[nn.Module] = [transformer, Pooling(encoder.dimension, pooling_mode=settings.pooling)]
    if settings.normalize:
        modules.append(Normalize())
    return modules


def build_sentence_transformer(heads: RetrievalHeads, encoder: BaseEncoder, model_path: str) -> SentenceTransformer:
    """The architecture as an in-memory SentenceTransformer on the CPU, in eval mode."""
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Router

    modules = encoder_modules(encoder, model_path)
    if is_symmetric(heads):
        modules += query_modules(heads)
    else:
        modules.append(Router.for_query_document(query_modules=query_modules(heads),
                                                 document_modules=document_modules(heads)))
    model = SentenceTransformer(modules=modules, device="cpu",
                                similarity_fn_name=SIMILARITY_FUNCTIONS[heads.spec.score])  # type: ignore[arg-type]
    return model.eval()


def save_export(folder: str | Path, model: SentenceTransformer, card: str) -> Path:
    """Write the model folder and its model card atomically (the generated card of sentence-transformers is
    replaced by ours, which knows the architecture, the loss weights, the data and the metrics)."""
    folder = Path(folder)
    with atomic_path(folder) as staging:
        model.save(str(staging), create_model_card=False)
        (staging / MODEL_CARD).write_text(card, encoding="utf-8")
    return folder


def best_seed(training_summary: Mapping[str, Any], seeds: Sequence[int]) -> int:
    """The training seed with the highest best dev MRR@10 (the pipeline's own model-selection metric, never a
    test metric); the first listed seed on a tie."""
    scores = {seed: float(seed_values(training_summary, seed).get(BEST_DEV_MRR, float("-inf"))) for seed in seeds}
    return max(seeds, key=lambda seed: (scores[seed], -list(seeds).index(seed)))


@dataclass(frozen=True)
class CardFacts:
    """What the model card states; every value comes from the run's settings, training summary and metrics."""

    architecture: str
    base_model: str
    pattern: str
    score: str
    fine_tuned: bool
    lambdas: Mapping[str, float]
    training_data: str
    seed: int
    seeds: Sequence[int]
    embedding_dim: int
    training: Mapping[str, Any]
    metrics: Mapping[str, Mapping[str, Any]]
    in_domain: str | None = None


def architecture_pattern(heads: RetrievalHeads) -> str:
    spec = heads.spec
    if not spec.use_head:
        return "raw base model E (no head)"
    query = "H(E(q))" if heads.doc_head is None and heads.target_head is None else "H_q(E(q))"
    if spec.query_uses_predictor:
        query = f"P({query})"
    document = "H_ema(E(d))" if heads.target_head is not None else "H_d(E(d))" if heads.doc_head is not None else "H(E(d))"
    predictor = f"; predictor {spec.predictor} (trained to predict the document vector)" if spec.predictor != "none" else ""
    return f"query {query}, document {document}{predictor}"


def model_card(facts: CardFacts) -> str:
    seed_word = "seed" if len(facts.seeds) == 1 else "seeds"
    lines = [
        "---",
        "library_name: sentence-transformers",
        "pipeline_tag: sentence-similarity",
        "tags: [sentence-transformers, feature-extraction, ragcun]",
        f"base_model: {facts.base_model}",
        "---",
        "",
        f"# ragcun `{facts.architecture}`",
        "",
        f"Exported by ragcun's `evaluate@{facts.architecture}` stage from built-in sentence-transformers modules "
        "only (no custom code, no `trust_remote_code`).",
        "",
        f"- Base model: `{facts.base_model}` ("
        + ("fine-tuned: the Transformer weights are the fine-tuned encoder's)" if facts.fine_tuned
           else "frozen: the Transformer weights are the base model's)"),
        f"- Architecture: {facts.pattern}",
        f"- Similarity: `{facts.score}`" + (" (negative Euclidean distance)" if facts.score == "euclidean" else ""),
        f"- Embedding dimension: {facts.embedding_dim}",
        f"- Training data: {facts.training_data}",
        f"- Exported training seed: {facts.seed}, the best dev MRR@10 of the {len(facts.seeds)} training "
        f"{seed_word} {list(facts.seeds)} (dev queries are held out from training; test sets are never used to choose)",
    ]
    if facts.lambdas:
        lines.append("- Loss weights: " + ", ".join(f"{key} = {value:g}" for key, value in facts.lambdas.items()))
    lines += ["", "## Usage", "", "```python", "from sentence_transformers import SentenceTransformer", "",
              'model = SentenceTransformer("path/to/this/folder")',
              'queries = model.encode_query(["a query"])',
              'documents = model.encode_document(["a title a passage"])  # BEIR text: title + " " + text',
              "scores = model.similarity(queries, documents)", "```", ""]
    per_seed = seed_values(facts.training, facts.seed)
    if per_seed:
        lines += ["## Training (exported seed)", ""]
        for key in (BEST_EPOCH, BEST_DEV_MRR, EXAMPLES, STEPS):
            if key in per_seed:
                lines.append(f"- {key}: {per_seed[key]:g}")
        lines.append("")
    if facts.metrics:
        lines += ["## Evaluation (BEIR test splits)", "",
                  f"| dataset | NDCG@10 (seed {facts.seed}) | NDCG@10 mean ± std over {len(facts.seeds)} {seed_word} | "
                  "Recall@100 (mean) |", "| --- | --- | --- | --- |"]
        for dataset, values in sorted(facts.metrics.items()):
            exported = seed_values(values, facts.seed).get("ndcg@10", float("nan"))
            marker = " (in-domain)" if dataset == facts.in_domain else ""
            lines.append(f"| {dataset}{marker} | {exported:.4f} | {values.get('ndcg@10', float('nan')):.4f} ± "
                         f"{values.get('ndcg@10_std', 0.0):.4f} | {values.get('recall@100', float('nan')):.4f} |")
        if facts.in_domain in facts.metrics:
            lines += ["", f"In-domain: {facts.in_domain} is the dataset the model was trained on (its train split); "
                      "its column is its test split, not zero-shot."]
        lines.append("")
    return "\n".join(lines)


@torch.no_grad()
def retrieval_vectors(model: SentenceTransformer, texts: Sequence[str], side: str, batch_size: int = 64) -> torch.Tensor:
    """The exported model's query or document vectors (float32, CPU)."""
    encode = model.encode_query if side == "queries" else model.encode_document
    return encode(list(texts), batch_size=batch_size, convert_to_tensor=True, show_progress_bar=False).float().cpu()


class BeirRetrievalModel:
    """An exported model in the interface BEIR's ``DenseRetrievalExactSearch`` calls (``encode_queries``,
    ``encode_corpus``), through ``encode_query`` / ``encode_document``.

    beir's own ``SentenceBERT`` wrapper calls plain ``encode`` on both sides, which a Router answers with its
    default (document) route; this one asks for each side's route. Documents are BEIR's ``title + " " + text``.
    """

    def __init__(self, model: SentenceTransformer) -> None:
        self.model = model

    def encode_queries(self, queries: list[str], batch_size: int = 64, **kwargs: Any) -> torch.Tensor:
        kwargs.setdefault("convert_to_tensor", True)
        return self.model.encode_query(queries, batch_size=batch_size, **kwargs)

    def encode_corpus(self, corpus: list[dict[str, str]], batch_size: int = 64, **kwargs: Any) -> torch.Tensor:
        from ragcun.data.beir_layout import document_text

        kwargs.setdefault("convert_to_tensor", True)
        return self.model.encode_document([document_text(doc) for doc in corpus], batch_size=batch_size, **kwargs)


def beir_exact_search(model: SentenceTransformer, batch_size: int = 64, corpus_chunk_size: int = 50_000) -> Any:
    """BEIR's ``DenseRetrievalExactSearch`` over an exported model, scoring with the model's own similarity
    function registered as ``"model"`` (BEIR ships only cos_sim and dot; the Euclidean architectures need it)."""
    from beir.retrieval.search.dense import DenseRetrievalExactSearch

    search = DenseRetrievalExactSearch(BeirRetrievalModel(model), batch_size=batch_size,
                                       corpus_chunk_size=corpus_chunk_size, show_progress_bar=False)
    search.score_functions["model"] = model.similarity
    search.score_function_desc["model"] = f"the model's similarity ({model.similarity_fn_name})"
    return search
