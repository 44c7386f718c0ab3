"""The trainable part of every architecture: projection heads, predictors and the EMA target.

Inputs are base-encoder embeddings [batch, in_dim] (E(text) in DESIGN.md's notation); the base encoder itself
lives elsewhere. H is ``ProjectionHead``, P is ``MLPPredictor`` or ``ResidualPredictor``.

What each architecture encodes at retrieval ("[or ...]": the query side when ``query_uses_predictor`` is
set; by default the query embedding is the head output):

| architecture         | spec (shared_head, predictor, ema_target) | query at retrieval | document at retrieval |
| -------------------- | ----------------------------------------- | ------------------ | --------------------- |
| base (raw model)     | use_head=False                            | E(q)               | E(d)                  |
| isotropic            | (True, none, False)                       | H(q)               | H(d)                  |
| isotropic_predictor  | (True, mlp, False)                        | H(q) [or P(H(q))]  | H(d)                  |
| residual_gaussian    | (True, residual, False)                   | H(q) [or H(q)+a*tanh(P(H(q)))] | H(d)      |
| asymmetric_dual      | (False, none, False)                      | H_q(q)             | H_d(d)                |
| asymmetric_predictor | (False, mlp, False)                       | H_q(q) [or P(H_q(q))] | H_d(d)             |
| lejepa_ema           | (False, mlp or residual, True)            | H(q) [or P(H(q))]  | H_ema(d)              |

Training uses exactly the retrieval-time encoders for the contrastive loss (``HeadOutputs.query`` and
``.positive``/``.negative``), so what is trained is what is searched. The predictor, where present, predicts
sg(document embedding of the positive); for ``lejepa_ema`` that target is the EMA head's output, and the
documents are encoded by the EMA head at retrieval too (as MoCo's momentum key encoder: the online head is
trained against it and the EMA head is a smoothed copy of it, in the same space). Only the head has an EMA
copy here: with a fine-tuned base encoder, both sides share that encoder's current weights.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import NamedTuple

import torch
from torch import Tensor, nn

from ragcun.errors import ConfigError
from ragcun.config import PredictorKind, ScoreFunction


class ProjectionHead(nn.Module):
    """H: Linear(in, 2*in) -> GELU -> Dropout -> Linear(2*in, out), on centred, rescaled inputs, times a gain.

    ``forward(x) = output_gain * net((x - input_mean) * input_scale)``. The three calibration buffers start as
    the identity (0, 1, 1) and are set once, before training, by ``calibrate``; they are saved with the
    weights and never trained. Why: the seed notes' embeddings are unnormalised Gaussian vectors regularised
    towards N(0, target_std^2 I). A freshly initialised MLP on unit-norm 384-d sentence embeddings (per-
    coordinate std ~0.05) outputs std ~0.01, a hundred times below that target, and 111 optimiser steps at
    lr 5e-4 cannot close the gap: the isotropy losses then spend the whole budget on scale and never reach
    shape. Calibrated, the head starts at the target scale (measured in tests on the bundled model).
    """

    def __init__(self, in_dim: int, out_dim: int, dropout: float) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(in_dim, 2 * in_dim),
            nn.GELU(),
            nn.Dropout(dropout),
            nn.Linear(2 * in_dim, out_dim),
        )
        self.register_buffer("input_mean", torch.zeros(in_dim))
        self.register_buffer("input_scale", torch.ones(()))
        self.register_buffer("output_gain", torch.ones(()))

    def forward(self, x: Tensor) -> Tensor:
        return self.output_gain * self.net((x - self.input_mean) * self.input_scale)

    @torch.no_grad()
    def calibrate(self, features: Tensor, target_std: float) -> None:
        """Centre the inputs on the mean of ``features`` [N, in_dim], scale them to unit per-dimension RMS,
        and set the gain so that the outputs on ``features`` have mean per-dimension std ``target_std``.

        One scalar input scale, not a per-dimension one: dividing each dimension by its own std would whiten
        the base embeddings' spectrum, making every head isotropic "for free" and hiding what the loss does.
        """
        if features.dim() != 2 or features.shape[0] < 2:
            raise ValueError(f"calibrate needs [N >= 2, in_dim] features, got shape {tuple(features.shape)}")
        if not target_std > 0:
            raise ConfigError(f"target_std must be > 0, got {target_std}")
        x = features.to(self.input_mean.device, torch.float32)
        mean = x.mean(0)
        spread = (x - mean).square().mean().sqrt()
        if not spread > 0:
            raise ValueError("calibrate: the features are all identical; cannot scale the head's inputs")
        self.input_mean.copy_(mean)
        self.input_scale.fill_(1.0 / float(spread))
        self.output_gain.fill_(1.0)
        was_training = self.training
        self.eval()
        output_std = self(x).std(dim=0).mean()
        self.train(was_training)
        self.output_gain.fill_(target_std / float(output_std))


class MLPPredictor(ProjectionHead):
    """P: the projection head's shape from the embedding space to itself (dim -> 2*dim -> dim)."""

    def __init__(self, dim: int, dropout: float) -> None:
        super().__init__(dim, dim, dropout)


class ResidualPrediction(NamedTuple):
    prediction: Tensor
    delta: Tensor


class ResidualPredictor(nn.Module):
    """prediction = q + alpha * delta with delta = tanh(P(q)) bounded in [-1, 1] and alpha a learnable scalar."""

    def __init__(self, dim: int, dropout: float, alpha_init: float = 0.1) -> None:
        super().__init__()
        self.mlp = MLPPredictor(dim, dropout)
        self.alpha = nn.Parameter(torch.tensor(float(alpha_init)))

    def forward(self, q: Tensor) -> ResidualPrediction:
        delta = torch.tanh(self.mlp(q))
        return ResidualPrediction(q + self.alpha * delta, delta)


@dataclass(frozen=True, kw_only=True)
class HeadsSpec:
    """Which heads an architecture has. See the module docstring for the table of architectures.

    ``use_head=False`` is the raw base model (identity heads, nothing trainable); then ``out_dim`` is unused
    and the embedding dimension is ``in_dim``.
    """

    shared_head: bool
    predictor: PredictorKind
    ema_target: bool
    ema_decay: float
    score: ScoreFunction
    query_uses_predictor: bool
    use_head: bool
    in_dim: int
    out_dim: int
    dropout: float

    # No checks here: every combination of these fields is checked once, by the params schema
    # (config.ArchitectureConfig, config.TrainConfig), and model.heads_spec builds a spec only from valid params.

    @property
    def embedding_dim(self) -> int:
        """Dimension of the retrieval embeddings."""
        return self.out_dim if self.use_head else self.in_dim


@dataclass
class HeadOutputs:
    """Everything the losses need from one training batch (B queries, N negatives each, D = embedding_dim).

    query [B, D], positive [B, D], negative [B, N, D] | None: the retrieval-time embeddings.
    prediction, target [B, D]: predictor output and sg(positive document embedding), or None without P.
    delta [B, D]: the residual predictor's tanh(P(q)), or None.
    isotropy_sets: the head outputs that receive gradients, one tensor per set: the query head's outputs, and
    the trainable document head's outputs of positives and negatives together. The EMA head's outputs are
    never included (they get no gradient); predictor outputs are not either (they are regressions onto the
    regularised embeddings, not embeddings of their own).
    """

    query: Tensor
    positive: Tensor
    negative: Tensor | None
    prediction: Tensor | None = None
    target: Tensor | None = None
    delta: Tensor | None = None
    isotropy_sets: list[Tensor] = field(default_factory=list)


class RetrievalHeads(nn.Module):
    """The heads, predictor and EMA target of one architecture, built from a ``HeadsSpec``."""

    def __init__(self, spec: HeadsSpec) -> None:
        super().__init__()
        self.spec = spec
        self.query_head: nn.Module
        self.doc_head: nn.Module | None = None
        self.target_head: nn.Module | None = None
        self.predictor: nn.Module | None = None
        if not spec.use_head:
            self.query_head = nn.Identity()
        else:
            self.query_head = ProjectionHead(spec.in_dim, spec.out_dim, spec.dropout)
            if spec.ema_target:
                self.target_head = copy.deepcopy(self.query_head).requires_grad_(False).eval()
            elif not spec.shared_head:
                self.doc_head = ProjectionHead(spec.in_dim, spec.out_dim, spec.dropout)
        if spec.predictor == "mlp":
            self.predictor = MLPPredictor(spec.out_dim, spec.dropout)
        elif spec.predictor == "residual":
            self.predictor = ResidualPredictor(spec.out_dim, spec.dropout)

    @torch.no_grad()
    def calibrate(self, features: Tensor, target_std: float) -> None:
        """Calibrate every projection head on base embeddings ``features`` (see ``ProjectionHead.calibrate``).

        All heads see the same features (queries and documents pooled): a shared head must, and separate
        heads then start on one scale. The EMA target is re-copied from the calibrated online head, so it
        starts equal to it. The raw base model (no head) has nothing to calibrate. Predictors are left at
        their default initialisation: their inputs are already head outputs at the target scale.
        """
        if not self.spec.use_head:
            return
        for head in (self.query_head, self.doc_head):
            if isinstance(head, ProjectionHead):
                head.calibrate(features, target_std)
        if self.target_head is not None:
            self.target_head.load_state_dict(self.query_head.state_dict())

    def train(self, mode: bool = True) -> RetrievalHeads:
        """Set train/eval mode; the EMA target always stays in eval mode (deterministic, dropout-free targets)."""
        super().train(mode)
        if self.target_head is not None:
            self.target_head.eval()
        return self

    def _encode_documents(self, x: Tensor) -> Tensor:
        if self.target_head is not None:
            with torch.no_grad():
                return self.target_head(x)
        return (self.doc_head if self.doc_head is not None else self.query_head)(x)

    def _predict(self, q: Tensor) -> tuple[Tensor | None, Tensor | None]:
        """(prediction, delta) from head-space queries; (None, None) without a predictor."""
        if self.predictor is None:
            return None, None
        out = self.predictor(q)
        if isinstance(out, ResidualPrediction):
            return out.prediction, out.delta
        return out, None

    def encode_queries(self, x: Tensor) -> Tensor:
        """Retrieval-time query embeddings [B, embedding_dim] of base embeddings x [B, in_dim]."""
        q = self.query_head(x)
        if self.spec.query_uses_predictor:
            prediction, _ = self._predict(q)
            assert prediction is not None  # HeadsSpec guarantees a predictor here
            return prediction
        return q

    def encode_documents(self, x: Tensor) -> Tensor:
        """Retrieval-time document embeddings [B, embedding_dim] of base embeddings x [B, in_dim]."""
        return self._encode_documents(x)

    def forward(self, query_x: Tensor, positive_x: Tensor, negative_x: Tensor | None = None) -> HeadOutputs:
        """Head outputs of a batch: query_x, positive_x [B, in_dim], negative_x [B, N, in_dim] or None."""
        q = self.query_head(query_x)
        positive = self._encode_documents(positive_x)
        negative = None
        if negative_x is not None:
            batch, count, dim = negative_x.shape
            negative = self._encode_documents(negative_x.reshape(batch * count, dim)).reshape(batch, count, -1)
        prediction, delta = self._predict(q)
        query = prediction if self.spec.query_uses_predictor else q
        isotropy_sets = [q]
        if self.target_head is None:
            documents = positive if negative is None else torch.cat([positive, negative.flatten(0, 1)])
            isotropy_sets.append(documents)
        return HeadOutputs(
            query=query,  # type: ignore[arg-type]  # not None: query_uses_predictor implies a predictor
            positive=positive,
            negative=negative,
            prediction=prediction,
            target=positive.detach() if prediction is not None else None,
            delta=delta,
            isotropy_sets=isotropy_sets,
        )

    @torch.no_grad()
    def update_ema(self) -> None:
        """target <- decay * target + (1 - decay) * online, parameter by parameter; call after each optimiser step.

        Hand-written rather than torch.optim.swa_utils.AveragedModel: that one overwrites the average with the
        online weights on its first update and wraps the module (changing checkpoint keys).
        """
        if self.target_head is None:
            raise ConfigError("update_ema called on an architecture without an EMA target (ema_target is false)")
        weight = 1.0 - self.spec.ema_decay
        for target, online in zip(self.target_head.parameters(), self.query_head.parameters(), strict=True):
            target.lerp_(online, weight)

    def trainable_parameters(self) -> int:
        """Number of scalar parameters that receive gradients (the EMA target's do not)."""
        return sum(p.numel() for p in self.parameters() if p.requires_grad)
