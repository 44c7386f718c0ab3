"""The inert-term and collapse flags, on constructed metrics and on real computations."""

from __future__ import annotations

import numpy as np
import pytest

from ragcun.diagnostics import collapse_reasons, diagnostic_notes, inert_terms
from ragcun.isotropy import measure_isotropy
from ragcun.losses import LossWeights
from ragcun.training import weighted_shares

WEIGHTS = {"contrastive": 1.0, "isotropy": 1.5, "reg": 0.1, "predictive": 0.0, "residual": 0.01}


def test_an_inert_term_is_flagged_with_its_share():
    train = {"share_contrastive": 0.9, "share_isotropy": 0.0004, "share_reg": 0.0996}
    assert inert_terms(train, WEIGHTS) == {"isotropy": pytest.approx(0.0004)}


def test_healthy_absent_and_switched_off_terms_are_not_flagged():
    healthy = {"share_contrastive": 0.6, "share_isotropy": 0.3, "share_reg": 0.1}
    assert inert_terms(healthy, WEIGHTS) == {}
    # predictive has weight 0 here: a share of 0 means "off", not "inert"; residual is absent from the run.
    assert inert_terms({**healthy, "share_predictive": 0.0}, WEIGHTS) == {}


def test_the_inert_threshold_is_one_percent():
    assert inert_terms({"share_reg": 0.0099}, WEIGHTS) == {"reg": pytest.approx(0.0099)}
    assert inert_terms({"share_reg": 0.01}, WEIGHTS) == {}


def test_shares_of_real_losses_feed_the_flag():
    """The earlier scripts' numbers: covariance loss 3e-5 beside a contrastive loss of 0.28."""
    losses = {"contrastive": 0.2848, "isotropy": 2.9e-5, "reg": 0.974}
    shares = weighted_shares(losses, LossWeights(contrastive=1.0, isotropy=1.5, predictive=0.0, reg=0.1, residual=0.0))
    assert sum(shares.values()) == pytest.approx(1.0)
    assert inert_terms(shares, WEIGHTS) == {"isotropy": pytest.approx(1.5 * 2.9e-5 / (0.2848 + 1.5 * 2.9e-5 + 0.0974))}


def test_collapse_fires_on_collapsed_embeddings_and_not_on_healthy_ones():
    rng = np.random.default_rng(0)
    healthy = rng.standard_normal((2000, 64))
    direction = rng.standard_normal(64)
    pointing_one_way = direction + 0.1 * rng.standard_normal((2000, 64))  # mean cosine near 1
    two_directions = rng.standard_normal((2000, 2)) @ rng.standard_normal((2, 64))  # rank 2 of 64
    measured = {name: measure_isotropy(x, seed=0, sigreg_directions=8)
                for name, x in (("healthy", healthy), ("one_way", pointing_one_way), ("rank2", two_directions))}
    assert collapse_reasons(measured["healthy"], 64) == []
    assert any("mean pairwise cosine" in reason for reason in collapse_reasons(measured["one_way"], 64))
    assert any("effective rank" in reason for reason in collapse_reasons(measured["rank2"], 64))


def test_constructed_thresholds():
    assert collapse_reasons({"mean_cosine": 0.51, "effective_rank": 200.0}, 384) == ["mean pairwise cosine 0.51 > 0.5"]
    assert collapse_reasons({"mean_cosine": 0.5, "effective_rank": 19.1}, 384) == [
        "effective rank 19.1 < 5% of 384 dimensions"
    ]
    assert collapse_reasons({"mean_cosine": 0.1, "effective_rank": 19.3}, 384) == []


def test_notes_name_each_flagged_architecture_once_in_order():
    train = {"a": {"share_isotropy": 0.001, "share_contrastive": 0.999}, "b": {"share_contrastive": 1.0}}
    isotropy = {"a": {"mean_cosine": 0.1, "effective_rank": 100.0}, "b": {"mean_cosine": 0.9, "effective_rank": 100.0}}
    notes = diagnostic_notes(["a", "b"], train, {"a": WEIGHTS, "b": WEIGHTS}, isotropy, {"a": 128, "b": 128})
    assert len(notes) == 2
    assert notes[0].startswith("a: inert loss term(s) isotropy (0.10% of the loss)")
    assert notes[1].startswith("b: collapsed (mean pairwise cosine 0.90")
    assert diagnostic_notes(["b"], {"b": {"share_contrastive": 1.0}}, {"b": WEIGHTS},
                            {"b": {"mean_cosine": 0.1, "effective_rank": 100.0}}, {"b": 128}) == []
