"""Predictive (JEPA) loss: the predictor's output regresses a stop-gradient target.

The joint-embedding predictive objective of Assran et al., "Self-Supervised Learning from Images with a
Joint-Embedding Predictive Architecture" (I-JEPA), CVPR 2023, arXiv:2301.08243: predict the target's
embedding, not its input. The target gets no gradient, as in BYOL (Grill et al., "Bootstrap Your Own Latent",
NeurIPS 2020, arXiv:2006.07733); the EMA target head of ``lejepa_ema`` is BYOL's and I-JEPA's momentum target.
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor


def predictive_mse(prediction: Tensor, target: Tensor) -> Tensor:
    """MSE(prediction, sg(target)), averaged over batch and dimensions (``F.mse_loss``'s mean).

    The target is detached here, whatever the caller passed: the target branch must never be pulled
    towards the prediction, or the trivial solution (both constant) becomes reachable.
    """
    if prediction.shape != target.shape:
        raise ValueError(
            f"prediction and target shapes differ: {tuple(prediction.shape)} vs {tuple(target.shape)}"
        )
    return F.mse_loss(prediction, target.detach())
