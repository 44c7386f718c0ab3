"""Scale and residual regularisers.

No paper defines these: the std regulariser is the research notes' (it holds the embeddings' scale where the
N(0, I) target of the isotropy losses can be reached), and the residual penalty keeps the residual
predictor's correction small.
"""

from __future__ import annotations

from torch import Tensor

from ragcun.errors import ConfigError
from ragcun.losses.numerics import full_precision


def std_regularization(z: Tensor, target_std: float) -> Tensor:
    """(s - target_std)^2 with s = mean over dimensions of the per-dimension std of z [N, D] over the batch.

    The std is the unbiased sample std (N - 1). Taking it per dimension, unlike a std of all entries, does
    not count differences between dimension means as spread, so it measures the scale that the isotropy
    losses see.
    """
    if not target_std > 0:
        raise ConfigError(f"target_std must be > 0, got {target_std}")
    if z.dim() != 2 or z.shape[0] < 2:
        raise ValueError(f"std_regularization needs a [N >= 2, D] tensor, got shape {tuple(z.shape)}")
    with full_precision(z) as x:
        return (x.std(dim=0).mean() - target_std).square()


def residual_penalty(delta: Tensor) -> Tensor:
    """Mean over the batch of the squared L2 norm of each residual row delta [B, D]."""
    if delta.dim() != 2:
        raise ValueError(f"residual_penalty needs a [B, D] tensor, got shape {tuple(delta.shape)}")
    with full_precision(delta) as x:
        return x.square().sum(dim=1).mean()
