"""What every loss on a set of embeddings shares: full precision under mixed-precision training, and the check
that the set is a [N, D] tensor with enough rows."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import Tensor

from ragcun.errors import ConfigError


@contextmanager
def full_precision(z: Tensor) -> Iterator[Tensor]:
    """Yield z in at least float32 with autocast off: cos/sin of t*x and covariances are unusable in bf16."""
    with torch.autocast(device_type=z.device.type, enabled=False):
        yield z.float() if z.dtype in (torch.float16, torch.bfloat16) else z


def check_samples(z: Tensor, minimum: int) -> None:
    """Refuse anything but a [N, D] tensor with at least ``minimum`` rows (a config too small for the loss)."""
    if z.dim() != 2:
        raise ValueError(f"isotropy losses need a [N, D] tensor, got shape {tuple(z.shape)}")
    if z.shape[0] < minimum:
        raise ConfigError(f"isotropy loss needs at least {minimum} embeddings per set, got {z.shape[0]}")
