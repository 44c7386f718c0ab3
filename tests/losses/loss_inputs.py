"""Embedding sets for the isotropy loss tests: seeded Gaussian and correlated, shifted samples in float64."""

import torch


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def gaussian(n: int, d: int, seed: int = 0) -> torch.Tensor:
    return torch.randn(n, d, generator=gen(seed), dtype=torch.float64)


def correlated(n: int = 50, d: int = 4, seed: int = 1) -> torch.Tensor:
    mix = torch.tensor([[1.0, 0.5, 0.0, 0.2], [0.0, 2.0, 0.3, 0.0], [0.0, 0.0, 0.7, 0.0], [0.1, 0.0, 0.0, 1.5]])
    return gaussian(n, d, seed) @ mix.to(torch.float64)[:d, :d] + 0.3
