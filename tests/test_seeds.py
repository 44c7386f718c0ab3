"""Per-seed aggregation in the metrics files' layout."""

import statistics

import pytest

from ragcun.seeds import aggregate, mean_and_std, per_seed_values


def test_mean_and_sample_std_match_the_statistics_module():
    values = [0.61, 0.63, 0.58]
    mean, std = mean_and_std(values)
    assert mean == pytest.approx(statistics.mean(values))
    assert std == pytest.approx(statistics.stdev(values))
    assert mean_and_std([0.5]) == (0.5, 0.0)
    with pytest.raises(ValueError):
        mean_and_std([])


def test_aggregate_keeps_means_spreads_and_per_seed_values():
    result = aggregate({0: {"ndcg@10": 0.6, "mrr@10": 0.7}, 3: {"ndcg@10": 0.7, "mrr@10": 0.9}})
    assert result["ndcg@10"] == pytest.approx(0.65)
    assert result["ndcg@10_std"] == pytest.approx(statistics.stdev([0.6, 0.7]))
    assert result["seeds"] == {"0": {"ndcg@10": 0.6, "mrr@10": 0.7}, "3": {"ndcg@10": 0.7, "mrr@10": 0.9}}
    assert per_seed_values(result, "mrr@10") == [0.7, 0.9]


def test_aggregate_only_keeps_keys_every_seed_has():
    result = aggregate({0: {"a": 1.0, "b": 2.0}, 1: {"a": 3.0}})
    assert set(result) == {"a", "a_std", "seeds"}
