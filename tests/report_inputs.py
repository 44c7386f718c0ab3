"""Inputs of the report tests (tests/report/ and the scatter figure's in tests/test_figures.py): three
architectures' metrics on two datasets, made so that the paired tests and the best-value rules decide something.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.stats

from ragcun.report.table import build_comparison

ARCHS = ["base", "baseline", "iso_pred"]
# An underscore and a percent sign in names exercise the LaTeX escaping.
DATASETS = ["scifact", "set_50%"]


def per_query_scores() -> dict[str, dict[str, dict[str, float]]]:
    """Per-query NDCG@10: iso_pred is clearly better than the baseline on scifact only; base is noise.

    Query ids differ between runs (one extra per run) so that the test sees pairing over common queries.
    """
    rng = np.random.default_rng(7)
    runs: dict[str, dict[str, dict[str, float]]] = {arch: {} for arch in ARCHS}
    for dataset in DATASETS:
        reference = rng.uniform(0.2, 0.7, size=40)
        shifted = {
            "base": reference + rng.normal(0.0, 0.1, size=40),
            "baseline": reference,
            "iso_pred": reference + (0.15 if dataset == "scifact" else 0.0) + rng.normal(0.0, 0.05, size=40),
        }
        for arch, values in shifted.items():
            scores = {f"q{i}": float(np.clip(v, 0.0, 1.0)) for i, v in enumerate(values)}
            scores[f"only-{arch}"] = 0.5  # not in any other run: must be ignored by the paired test
            runs[arch][dataset] = scores
    return runs


def beir_of(per_query: dict[str, dict[str, dict[str, float]]]) -> dict[str, dict[str, dict[str, float]]]:
    return {
        arch: {
            dataset: {"ndcg@10": float(np.mean(list(scores.values()))), "map@100": 0.1, "recall@100": 0.2}
            for dataset, scores in runs.items()
        }
        for arch, runs in per_query.items()
    }


ISOTROPY = {
    # mean_cosine: -0.02 is closest to 0, neither the maximum (0.04) nor the minimum (-0.31).
    "base": {"eigen_score": 0.12, "isoscore": 0.05, "effective_rank": 120.5, "mean_cosine": -0.31},
    "baseline": {"eigen_score": 0.2, "isoscore": 0.08, "mean_cosine": -0.02},
    "iso_pred": {"eigen_score": 0.61, "isoscore": 0.4, "effective_rank": 300.25, "mean_cosine": 0.04},
}
TRAIN = {  # base has no train metrics: it is the untrained model
    "baseline": {"trainable_parameters": 296_064, "best_epoch": 2},
    "iso_pred": {"trainable_parameters": 592_128},
}
DESCRIPTIONS = {"base": "raw base model", "baseline": "no isotropy", "iso_pred": "isotropic + predictor"}


def report_inputs() -> dict[str, object]:
    """Keyword arguments of write_report (less out_dir) for the three architectures."""
    per_query = per_query_scores()
    return {
        "architectures": ARCHS,
        "beir": beir_of(per_query),
        "per_query": per_query,
        "isotropy": ISOTROPY,
        "train": TRAIN,
        "descriptions": DESCRIPTIONS,
        "baseline": "baseline",
    }


def comparison_frame(inputs: dict[str, object]) -> pd.DataFrame:
    return build_comparison(
        inputs["architectures"], inputs["beir"], inputs["isotropy"], inputs["train"], inputs["baseline"]
    )


def hand_p_values(per_query, arch: str, test: str) -> dict[str, float]:
    """Raw paired p-values computed here with scipy, over the query ids both runs share."""
    result = {}
    for dataset in DATASETS:
        ours, theirs = per_query[arch][dataset], per_query["baseline"][dataset]
        common = sorted(set(ours) & set(theirs))
        a, b = [ours[q] for q in common], [theirs[q] for q in common]
        function = scipy.stats.ttest_rel if test == "ttest" else scipy.stats.wilcoxon
        result[dataset] = float(function(a, b).pvalue)
    return result


def hand_holm_two(p: dict[str, float]) -> dict[str, float]:
    """Holm for a family of two, worked by hand: smallest x2, the other max(that, itself x1), capped at 1."""
    (small_name, small), (large_name, large) = sorted(p.items(), key=lambda item: item[1])
    first = min(1.0, 2 * small)
    return {small_name: first, large_name: min(1.0, max(first, large))}


def seeded_beir(means: dict[str, list[float]]) -> dict:
    """BEIR metrics aggregated over seeds as the evaluate stage writes them: each dataset gets these NDCG@10s."""
    from ragcun.seeds import aggregate

    return {
        arch: {dataset: aggregate({s: {"ndcg@10": v, "map@100": 0.1, "recall@100": 0.2} for s, v in enumerate(values)})
               for dataset in DATASETS}
        for arch, values in means.items()
    }


def within_noise_frame() -> pd.DataFrame:
    """baseline 0.50 ± 0.02 over three seeds; iso_pred +0.01 (within the spread); base untrained (one value)."""
    beir = seeded_beir({"base": [0.30], "baseline": [0.48, 0.50, 0.52], "iso_pred": [0.50, 0.51, 0.52]})
    return build_comparison(ARCHS, beir, ISOTROPY, TRAIN, "baseline")
