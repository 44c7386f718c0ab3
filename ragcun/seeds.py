"""Aggregation of per-seed results: mean, spread and the per-seed values, in the metrics files' layout.

DESIGN.md's contract: each metric is the mean over the training seeds, with ``<metric>_std`` beside it and
the per-seed values kept (under ``seeds``), so that ``dvc metrics diff`` and ``dvc exp show`` compare means and
spreads alike.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

SEEDS_KEY = "seeds"
STD_SUFFIX = "_std"


def seed_label(seed: int) -> str:
    return f"seed-{seed}"


def mean_and_std(values: list[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (n - 1); the std of a single value is 0."""
    if not values:
        raise ValueError("mean_and_std of no values")
    mean = math.fsum(values) / len(values)
    if len(values) == 1:
        return mean, 0.0
    return mean, math.sqrt(math.fsum((v - mean) ** 2 for v in values) / (len(values) - 1))


def seed_values(aggregated: Mapping[str, Any], seed: int) -> Mapping[str, Any]:
    """One seed's values in an ``aggregate`` result (a metrics file or a training summary); empty when it has
    none for that seed."""
    return (aggregated.get(SEEDS_KEY) or {}).get(str(seed), {})


def aggregate(per_seed: Mapping[int, Mapping[str, float]]) -> dict:
    """``{key: mean, key_std: std, ..., "seeds": {"<seed>": {key: value}}}`` over the keys every seed has."""
    if not per_seed:
        raise ValueError("aggregate needs at least one seed")
    keys = [key for key in next(iter(per_seed.values())) if all(key in values for values in per_seed.values())]
    result: dict = {}
    for key in keys:
        mean, std = mean_and_std([float(values[key]) for values in per_seed.values()])
        result[key] = mean
        result[key + STD_SUFFIX] = std
    result[SEEDS_KEY] = {str(seed): {key: float(values[key]) for key in keys} for seed, values in per_seed.items()}
    return result


def per_seed_values(aggregated: Mapping, key: str) -> list[float]:
    """The per-seed values of ``key`` in an ``aggregate`` result (the mean alone if it has no seeds)."""
    seeds = aggregated.get(SEEDS_KEY)
    if not seeds:
        return [float(aggregated[key])]
    return [float(values[key]) for values in seeds.values()]
