"""The isotropy loss a config names (``isotropy_kind``): the covariance-based kinds of
``ragcun.losses.covariance`` (covariance, identity, shape) and LeJEPA's SIGReg (``ragcun.losses.sigreg``)."""

from __future__ import annotations

import torch
from torch import Tensor

from ragcun.config import IsotropyKind
from ragcun.errors import ConfigError
from ragcun.losses.covariance import covariance_isotropy, identity_isotropy, shape_isotropy
from ragcun.losses.sigreg import DEFAULT_SIGREG_DIRECTIONS, sigreg


def isotropy_loss(
    kind: IsotropyKind,
    z: Tensor,
    *,
    generator: torch.Generator | None = None,
    num_directions: int = DEFAULT_SIGREG_DIRECTIONS,
) -> Tensor:
    """The isotropy loss named ``kind`` (config.IsotropyKind, validated by the params schema) of z [N, D];
    ``sigreg`` needs ``generator``."""
    deterministic = {"covariance": covariance_isotropy, "identity": identity_isotropy, "shape": shape_isotropy}
    if kind in deterministic:
        return deterministic[kind](z)
    if kind != "sigreg":
        raise ValueError(f"isotropy kind {kind!r} is not one of config.IsotropyKind")
    if generator is None:
        raise ConfigError("isotropy kind 'sigreg' needs a torch.Generator for its random directions")
    return sigreg(z, num_directions=num_directions, generator=generator)
