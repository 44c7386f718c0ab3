"""Tests of ragcun.report.table: rows, columns and values of the comparison table, refused inputs, seed noise."""

from __future__ import annotations

import numpy as np
import pytest
from report_inputs import ARCHS, DATASETS, ISOTROPY, TRAIN, comparison_frame, seeded_beir, within_noise_frame

from ragcun.errors import DataError
from ragcun.report.table import (
    AVERAGE, CHANGE, ISOTROPY_KEYS, PARAMETERS, STD, build_comparison, value_columns, within_seed_noise,
)


def test_comparison_table_rows_columns_and_values(inputs) -> None:
    frame = comparison_frame(inputs)
    assert list(frame.index) == ARCHS
    dataset_columns = [f"ndcg@10 {d}" for d in DATASETS]
    assert value_columns(frame) == dataset_columns + [
        AVERAGE, CHANGE, *ISOTROPY_KEYS, PARAMETERS
    ]
    # Every mean column that varies with the training seed has its std twin (NaN: these inputs carry none).
    assert {c for c in frame.columns if c.endswith(STD)} == {
        f"{c}{STD}" for c in [*dataset_columns, AVERAGE, *ISOTROPY_KEYS]
    }
    beir = inputs["beir"]
    for arch in ARCHS:
        ndcg = [beir[arch][d]["ndcg@10"] for d in DATASETS]
        assert frame.loc[arch, dataset_columns].tolist() == pytest.approx(ndcg)
        assert frame.at[arch, AVERAGE] == pytest.approx(sum(ndcg) / len(ndcg))
    baseline_average = frame.at["baseline", AVERAGE]
    assert frame.at["baseline", CHANGE] == 0.0
    assert frame.at["iso_pred", CHANGE] == pytest.approx(
        100 * (frame.at["iso_pred", AVERAGE] / baseline_average - 1)
    )
    assert frame.at["iso_pred", "isoscore"] == 0.4
    assert np.isnan(frame.at["baseline", "effective_rank"])  # not measured: NaN, shown as "–"
    assert frame.at["base", PARAMETERS] == 0
    assert frame.at["iso_pred", PARAMETERS] == 592_128


def test_missing_metrics_name_the_architecture_and_file(inputs) -> None:
    beir = dict(inputs["beir"])
    del beir["iso_pred"]
    with pytest.raises(DataError, match=r"'iso_pred'.*metrics/beir/iso_pred\.json"):
        build_comparison(ARCHS, beir, ISOTROPY, TRAIN, "baseline")
    with pytest.raises(DataError, match=r"'iso_pred'.*metrics/isotropy/iso_pred\.json"):
        build_comparison(ARCHS, inputs["beir"], {k: ISOTROPY[k] for k in ARCHS[:2]}, TRAIN, "baseline")
    with pytest.raises(DataError, match=r"'baseline'.*metrics/train/baseline\.json"):
        build_comparison(ARCHS, inputs["beir"], ISOTROPY, {"iso_pred": TRAIN["iso_pred"]}, "baseline")
    with pytest.raises(DataError, match=r"metrics/train/iso_pred\.json: key trainable_parameters"):
        build_comparison(ARCHS, inputs["beir"], ISOTROPY, {**TRAIN, "iso_pred": {"best_epoch": 1}},
                                "baseline")


def test_the_table_has_no_timing_column_and_ignores_a_legacy_seconds_key(inputs) -> None:
    # A duration is not a result: in a git-tracked table it would change on every retrain of equal weights.
    train = {arch: {**values, "seconds": 12.5} for arch, values in TRAIN.items()}
    frame = build_comparison(ARCHS, inputs["beir"], ISOTROPY, train, "baseline")
    assert not [column for column in frame.columns if "second" in column]


def test_inconsistent_or_malformed_metrics_are_rejected(inputs) -> None:
    beir = {**inputs["beir"], "iso_pred": {"scifact": inputs["beir"]["iso_pred"]["scifact"]}}
    with pytest.raises(DataError, match="differ from those of 'base'"):
        build_comparison(ARCHS, beir, ISOTROPY, TRAIN, "baseline")
    beir = {**inputs["beir"], "base": {d: {"ndcg@10": "high"} for d in DATASETS}}
    with pytest.raises(DataError, match=r"metrics/beir/base\.json: key scifact\.ndcg@10"):
        build_comparison(ARCHS, beir, ISOTROPY, TRAIN, "baseline")


def test_seed_spread_is_kept_and_small_differences_are_marked() -> None:
    # baseline 0.50 ± 0.02; iso_pred +0.01 (within the spread: marked); base is untrained (never marked).
    frame = within_noise_frame()
    assert frame.at["baseline", f"{AVERAGE}{STD}"] == pytest.approx(0.02)
    assert within_seed_noise(frame, "baseline") == {"iso_pred"}
    # A difference larger than both spreads is not marked.
    far = build_comparison(
        ARCHS, seeded_beir({"base": [0.3], "baseline": [0.48, 0.50, 0.52], "iso_pred": [0.60, 0.61, 0.62]}),
        ISOTROPY, TRAIN, "baseline")
    assert within_seed_noise(far, "baseline") == set()
