"""Tests of ragcun.report.statistics: Holm, Bonferroni and no correction, and the paired tests against scipy."""

from __future__ import annotations

import pytest
from report_inputs import DATASETS, hand_holm_two, hand_p_values

from ragcun.errors import DataError
from ragcun.report.statistics import correct, holm, significance


def test_holm_matches_a_hand_worked_example() -> None:
    # m = 4. Sorted: 0.005*4 = 0.02, 0.01*3 = 0.03, 0.03*2 = 0.06, 0.04*1 = 0.04 -> running max 0.06.
    assert holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    # Capped at 1, and ties scale alike.
    assert holm([0.5, 0.6]) == pytest.approx([1.0, 1.0])
    assert holm([0.02, 0.02, 0.5]) == pytest.approx([0.06, 0.06, 0.5])


def test_holm_rejects_what_the_sequential_procedure_rejects() -> None:
    # The textbook step-down: compare the k-th smallest p (1-based) with alpha / (m - k + 1), stop at the
    # first failure. 0.005 <= 0.0125 yes, 0.01 <= 0.01667 yes, 0.03 <= 0.025 no -> only the first two.
    p = [0.01, 0.04, 0.03, 0.005]
    rejected = [adjusted <= 0.05 for adjusted in holm(p)]
    assert rejected == [True, False, False, True]


def test_bonferroni_and_none() -> None:
    assert correct([0.01, 0.3, 0.02], "bonferroni") == pytest.approx([0.03, 0.9, 0.06])
    assert correct([0.01, 0.6], "bonferroni") == pytest.approx([0.02, 1.0])
    assert correct([0.01, 0.6], "none") == pytest.approx([0.01, 0.6])
    # params.yaml cannot name another correction (config.Correction); code that does gets a ValueError
    with pytest.raises(ValueError, match="config.Correction"):
        correct([0.1], "sidak")  # type: ignore[arg-type]


@pytest.mark.parametrize("test", ["ttest", "wilcoxon"])
def test_uncorrected_p_values_equal_scipy_on_the_common_queries(inputs, test) -> None:
    result = significance(inputs["per_query"], "baseline", test, "none", 0.05)
    assert set(result) == {"base", "iso_pred"}  # the baseline is not tested against itself
    for arch in ("base", "iso_pred"):
        expected = hand_p_values(inputs["per_query"], arch, test)
        for dataset in DATASETS:
            p_value, significant = result[arch][dataset]
            assert p_value == pytest.approx(expected[dataset], rel=1e-12)
            assert significant == (expected[dataset] <= 0.05)


@pytest.mark.parametrize("test", ["ttest", "wilcoxon"])
def test_holm_corrected_p_values_and_decisions(inputs, test) -> None:
    result = significance(inputs["per_query"], "baseline", test, "holm", 0.05)
    for arch in ("base", "iso_pred"):
        expected = hand_holm_two(hand_p_values(inputs["per_query"], arch, test))
        assert {d: result[arch][d][0] for d in DATASETS} == pytest.approx(expected, rel=1e-12)
        assert {d: result[arch][d][1] for d in DATASETS} == {d: expected[d] <= 0.05 for d in DATASETS}
    # The fixture is built so that the decisions are not all alike (otherwise daggers test nothing).
    assert result["iso_pred"]["scifact"][1] and not result["iso_pred"]["set_50%"][1]


def test_significant_means_adjusted_p_at_most_alpha(inputs) -> None:
    p = hand_holm_two(hand_p_values(inputs["per_query"], "iso_pred", "ttest"))["set_50%"]
    assert 0.0 < p < 1.0
    at = significance(inputs["per_query"], "baseline", "ttest", "holm", alpha=p)
    below = significance(inputs["per_query"], "baseline", "ttest", "holm", alpha=p * 0.999)
    assert at["iso_pred"]["set_50%"] == (pytest.approx(p), True)
    assert below["iso_pred"]["set_50%"] == (pytest.approx(p), False)


@pytest.mark.parametrize("test", ["ttest", "wilcoxon"])
def test_identical_runs_give_p_one_not_nan(test) -> None:
    scores = {"q1": 0.5, "q2": 0.25, "q3": 1.0}
    result = significance({"a": {"d": scores}, "b": {"d": dict(scores)}}, "b", test, "holm", 0.05)
    assert result == {"a": {"d": (1.0, False)}}


def test_significance_rejects_bad_input() -> None:
    runs = {"a": {"d": {"q1": 0.5, "q2": 0.1}}, "b": {"d": {"q1": 0.4, "q3": 0.2}}}
    with pytest.raises(DataError, match="1 queries in common"):
        significance(runs, "b")
    with pytest.raises(DataError, match="differ from the baseline"):
        significance({"a": {"e": {}}, "b": {"d": {}}}, "b")
    with pytest.raises(DataError, match="'missing'"):
        significance(runs, "missing")
