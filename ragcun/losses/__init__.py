"""Training losses and their weighted combination.

Every loss is written once, in its module, whose docstring cites its paper: ``contrastive`` (InfoNCE),
``covariance`` (the covariance, identity and shape isotropy losses), ``sigreg`` (LeJEPA's SIGReg),
``predictive`` (MSE to a stop-gradient target), ``regularization`` (std and residual penalties);
``isotropy`` picks the isotropy loss a config names and ``numerics`` holds what they share.
``combine_losses`` applies them to a batch's ``HeadOutputs``:

- contrastive: InfoNCE of ``outputs.query`` against the batch's positives and mined negatives.
- isotropy: the chosen isotropy loss of each of ``outputs.isotropy_sets`` (every head output that receives
  gradients: queries, and documents where the document head is trainable; the EMA target never), averaged
  over the sets. Each set is regularised on its own because queries and documents are different
  distributions; pooling them would let one cover for the other.
- reg: the std regulariser of the same sets, averaged the same way.
- predictive: MSE(prediction, sg(target)), only for architectures with a predictor.
- residual: mean ||delta||^2, only for the residual predictor.

A component the architecture does not have (predictive/residual without that predictor) is absent from the
result and its weight has no effect; the top-level lambdas of params.yaml apply where the component exists.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass

import torch
from torch import Tensor

from ragcun.config import IsotropyKind, ScoreFunction
from ragcun.heads import HeadOutputs
from ragcun.losses.contrastive import accuracy_at_1, contrastive_logits, info_nce, info_nce_from_logits
from ragcun.losses.isotropy import isotropy_loss
from ragcun.losses.predictive import predictive_mse
from ragcun.losses.regularization import residual_penalty, std_regularization

__all__ = ["LossWeights", "combine_losses", "info_nce", "isotropy_loss", "predictive_mse"]


@dataclass(frozen=True)
class LossWeights:
    """The lambdas of DESIGN.md's losses (params.yaml: lambda_contrastive, lambda_isotropy, ...), finite and
    >= 0 as the params schema checks."""

    contrastive: float
    isotropy: float
    predictive: float
    reg: float
    residual: float


def _mean(values: list[Tensor]) -> Tensor:
    return torch.stack(values).mean()


def combine_losses(
    outputs: HeadOutputs,
    weights: LossWeights,
    *,
    isotropy_kind: IsotropyKind,
    temperature: float,
    score: ScoreFunction,
    target_std: float,
    generator: torch.Generator | None,
    sigreg_directions: int,
) -> dict[str, Tensor]:
    """Every applicable loss component (unweighted), ``accuracy_at_1`` and ``total`` = weighted sum.

    Components with weight 0 are computed without gradient, for the logs only. ``accuracy_at_1`` (share of
    queries whose own positive scores highest) is a logging metric, not part of the total. ``generator`` is
    needed by ``isotropy_kind='sigreg'``.
    """
    def component(weight: float, compute: Callable[[], Tensor]) -> Tensor:
        # A zero-weight term still shows in the logs, but it must not hold an autograd graph in memory.
        with nullcontext() if weight > 0 else torch.no_grad():
            return compute()

    logits = component(
        weights.contrastive,
        lambda: contrastive_logits(
            outputs.query, outputs.positive, outputs.negative, temperature=temperature, score=score
        ),
    )
    losses: dict[str, Tensor] = {
        "contrastive": info_nce_from_logits(logits),
        "isotropy": component(
            weights.isotropy,
            lambda: _mean(
                [
                    isotropy_loss(isotropy_kind, z, generator=generator, num_directions=sigreg_directions)
                    for z in outputs.isotropy_sets
                ]
            ),
        ),
        "reg": component(
            weights.reg, lambda: _mean([std_regularization(z, target_std) for z in outputs.isotropy_sets])
        ),
    }
    if outputs.prediction is not None:
        if outputs.target is None:
            raise ValueError("HeadOutputs has a prediction but no target")
        prediction, target = outputs.prediction, outputs.target
        losses["predictive"] = component(weights.predictive, lambda: predictive_mse(prediction, target))
    if outputs.delta is not None:
        delta = outputs.delta
        losses["residual"] = component(weights.residual, lambda: residual_penalty(delta))

    # All weights 0 is refused by the params schema (Params: "nothing to train"); the sum is then never empty.
    weighted = [getattr(weights, name) * value for name, value in losses.items() if getattr(weights, name) > 0]
    losses["total"] = torch.stack(weighted).sum()
    losses["accuracy_at_1"] = accuracy_at_1(logits)
    return losses
