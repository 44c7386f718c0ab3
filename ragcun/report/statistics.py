"""Paired significance tests of each architecture against the baseline, per dataset over per-query NDCG@10,
with a multiple-testing correction across each architecture's datasets."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from ragcun import paths
from ragcun.config import Correction, SignificanceTest
from ragcun.errors import DataError
from ragcun.report.table import finite_number

Significance = dict[str, dict[str, tuple[float, bool]]]


_TEST_NAMES = {"ttest": "paired t-test", "wilcoxon": "Wilcoxon signed-rank test"}
CORRECTION_NAMES = {
    "holm": "Holm–Bonferroni correction",
    "bonferroni": "Bonferroni correction",
    "none": "no multiple-testing correction",
}


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm–Bonferroni step-down adjusted p-values, in the input order.

    Hand-written because scipy has no Holm correction and statsmodels (``multipletests(method="holm")``,
    which this matches) is not a dependency; it is five lines. Sorted ascending, the i-th smallest
    (0-based) is multiplied by m - i, a running maximum keeps the adjusted values monotone, capped at 1.
    """
    p = np.asarray(p_values, dtype=np.float64)
    order = np.argsort(p, kind="stable")
    scaled = p[order] * (p.size - np.arange(p.size))
    adjusted = np.empty_like(p)
    adjusted[order] = np.minimum(np.maximum.accumulate(scaled), 1.0)
    return adjusted.tolist()


def correct(p_values: Sequence[float], correction: Correction) -> list[float]:
    """Adjust a family of p-values for multiple testing ("holm", "bonferroni" or "none")."""
    if correction == "holm":
        return holm(p_values)
    if correction == "bonferroni":
        return [min(1.0, p * len(p_values)) for p in p_values]
    if correction == "none":
        return [float(p) for p in p_values]
    raise ValueError(f"correction {correction!r} is not one of config.Correction")


def paired_p_value(scores: Sequence[float], baseline_scores: Sequence[float], test: SignificanceTest) -> float:
    """Two-sided p-value of a paired test between two aligned score arrays.

    Identical arrays give 1.0: there is no evidence of a difference, whereas scipy would return NaN (t-test,
    zero variance) or warn (Wilcoxon, every difference dropped).
    """
    a = np.asarray(scores, dtype=np.float64)
    b = np.asarray(baseline_scores, dtype=np.float64)
    if np.array_equal(a, b):
        return 1.0
    import scipy.stats  # imported here: ~0.5 s that importers of this module's other parts need not pay

    if test == "ttest":
        p = scipy.stats.ttest_rel(a, b).pvalue
    elif test == "wilcoxon":
        p = scipy.stats.wilcoxon(a, b).pvalue
    else:
        raise ValueError(f"test {test!r} is not one of config.SignificanceTest")
    return float(p)


def significance(
    per_query: Mapping[str, Mapping[str, Mapping[str, float]]],
    baseline: str,
    test: SignificanceTest = "ttest",
    correction: Correction = "holm",
    alpha: float = 0.05,
) -> Significance:
    """``result[arch][dataset] = (p_value, significant)`` for every architecture except the baseline.

    Each dataset is a paired test over the queries both runs scored; the p-values of one architecture (one
    per dataset) form the family that ``correction`` adjusts. ``p_value`` is the adjusted one and
    ``significant`` is ``p_value <= alpha``.
    """
    if baseline not in per_query:
        raise DataError(f"architecture {baseline!r}: no per-query NDCG@10 ({paths.evaluation_outputs(baseline)})")
    datasets = sorted(per_query[baseline])
    result: Significance = {}
    for arch, runs in per_query.items():
        if arch == baseline:
            continue
        if sorted(runs) != datasets:
            raise DataError(
                f"{paths.evaluation_outputs(arch)}: per-query datasets {sorted(runs)} differ from the "
                f"baseline {baseline!r} {datasets}"
            )
        raw = [_dataset_p_value(arch, runs[dataset], baseline, per_query[baseline][dataset], dataset, test)
               for dataset in datasets]
        adjusted = correct(raw, correction)
        result[arch] = {dataset: (p, bool(p <= alpha)) for dataset, p in zip(datasets, adjusted)}
    return result


def _dataset_p_value(
    arch: str,
    scores: Mapping[str, float],
    baseline: str,
    baseline_scores: Mapping[str, float],
    dataset: str,
    test: SignificanceTest,
) -> float:
    common = sorted(set(scores) & set(baseline_scores))
    if len(common) < 2:
        raise DataError(
            f"{paths.evaluation_outputs(arch)}: {dataset}: {len(common)} queries in common with the baseline "
            f"{baseline!r}; a paired test needs at least 2"
        )
    where = f"{paths.evaluation_outputs(arch)}: {dataset}"
    a = [finite_number(scores[query], f"{where}: query {query}") for query in common]
    b = [finite_number(baseline_scores[query], f"{paths.evaluation_outputs(baseline)}: {dataset}: query {query}")
         for query in common]
    return paired_p_value(a, b, test)


def significance_note(baseline: str, test: SignificanceTest, correction: Correction, alpha: float, datasets: int) -> str:
    """Plain-text legend for the dagger: the test, the correction, its family size and alpha."""
    family = f" across the {datasets} datasets of each architecture" if correction != "none" else ""
    return (
        f"† significantly different from {baseline} on that dataset: two-sided {_TEST_NAMES[test]} on "
        f"per-query NDCG@10 (each query's mean over the training seeds) over the queries both runs answered, "
        f"{CORRECTION_NAMES[correction]}{family}, α = {alpha:g}."
    )
