"""Validation is the only gate: what the params schema accepts, build_model builds, one training step's
losses can be computed for and the export can lay out as sentence-transformers modules; what it refuses fails at validation, in one line naming the keys."""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import pytest
import torch
import yaml

from ragcun.config import ISOTROPY_KINDS, SCORE_FUNCTIONS, load_params, parse_params
from ragcun.errors import ConfigError
from ragcun.export import document_modules, query_modules
from ragcun.losses import LossWeights, combine_losses
from ragcun.model import build_model

REPOSITORY = Path(__file__).resolve().parents[1]
BASE_DIM = 8
BATCH, NEGATIVES = 6, 2


def committed_params() -> dict:
    return yaml.safe_load((REPOSITORY / "params.yaml").read_text(encoding="utf-8"))


def check_builds_and_trains(params, name: str) -> None:
    """Build the architecture on random base vectors, run its heads and the losses it trains with."""
    architecture = params.architecture(name)
    torch.manual_seed(0)
    model = build_model(architecture, BASE_DIM)
    query, positive = torch.randn(BATCH, BASE_DIM), torch.randn(BATCH, BASE_DIM)
    negative = torch.randn(BATCH * NEGATIVES, BASE_DIM)
    dim = model.heads.spec.embedding_dim
    assert model.encode_queries(query).shape == (BATCH, dim)
    assert model.encode_documents(positive).shape == (BATCH, dim)
    query_modules(model.heads), document_modules(model.heads)  # evaluate@ARCH exports it: raises if it cannot
    if not architecture.spec.trained:
        assert not any(p.requires_grad for p in model.parameters())
        return
    outputs = model(query, positive, negative)
    lambdas = architecture.lambdas
    weights = LossWeights(**{key.removeprefix("lambda_"): value for key, value in lambdas.items()})
    losses = combine_losses(
        outputs,
        weights,
        isotropy_kind=architecture.isotropy,
        temperature=architecture.temperature,
        score=architecture.score,
        target_std=params.train.target_std,
        generator=torch.Generator().manual_seed(0),
        sigreg_directions=8,
    )
    assert torch.isfinite(losses["total"])
    losses["total"].backward()
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in model.parameters())


@pytest.mark.parametrize("name", list(committed_params()["architectures"]))
def test_every_committed_architecture_validates_and_builds(name: str) -> None:
    check_builds_and_trains(load_params(REPOSITORY / "params.yaml"), name)


def architecture_grid():
    keys = ("trained", "shared_head", "predictor", "ema_target", "query_uses_predictor")
    values = ((True, False), (True, False), ("none", "mlp", "residual"), (False, True), (False, True))
    for combination in itertools.product(*values):
        yield dict(zip(keys, combination))


def test_every_head_combination_validation_accepts_builds_and_the_rest_fails_in_one_line() -> None:
    accepted = 0
    for entry in architecture_grid():
        raw = {"architectures": {"arch": entry}, "report": {"baseline": "arch"}}
        try:
            params = parse_params(raw)
        except ConfigError as error:
            message = str(error)
            assert "\n" not in message and message.startswith("params.yaml: architectures.arch: "), message
            continue
        accepted += 1
        check_builds_and_trains(params, "arch")
    # untrained: 2 (shared_head is moot); no predictor: 2; mlp/residual without EMA: 2 x 2 x 2 (shared_head,
    # query_uses_predictor) less residual with query_uses_predictor (2, not exportable); with EMA: 2 x 2
    # (shared_head false only) less that one
    assert accepted == 2 + 2 + (8 - 2) + (4 - 1), accepted


@pytest.mark.parametrize(("score", "isotropy"), list(itertools.product(SCORE_FUNCTIONS, ISOTROPY_KINDS)))
def test_every_score_and_isotropy_kind_builds(score: str, isotropy: str) -> None:
    raw = {"architectures": {"a": {"score": score, "isotropy": isotropy, "predictor": "residual"}}, "report": {"baseline": "a"}}
    check_builds_and_trains(parse_params(raw), "a")


def test_ema_target_with_the_default_shared_head_fails_at_validation_naming_both_keys() -> None:
    raw = committed_params()
    del raw["architectures"]["lejepa_ema"]["shared_head"]  # the default: true
    with pytest.raises(ConfigError) as error:
        parse_params(raw)
    assert str(error.value) == (
        "params.yaml: architectures.lejepa_ema: ema_target: true needs shared_head: false "
        "(documents get their own EMA head)"
    )


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda raw: raw["architectures"]["base"].update(predictor="mlp"), "architectures.base: trained: false"),
        (lambda raw: raw["architectures"]["isotropic"].update(ema_target=True), "ema_target: true needs a predictor"),
        (lambda raw: raw["architectures"]["isotropic"].update(query_uses_predictor=True), "query_uses_predictor needs a predictor"),
        (lambda raw: raw["architectures"]["residual_gaussian"].update(query_uses_predictor=True),
         "architectures.residual_gaussian: predictor: residual with query_uses_predictor: true cannot be exported"),
        (lambda raw: raw["architectures"]["lejepa_ema"].update(lambda_predictive=0.0, lambda_isotropy=0.0, lambda_reg=0.0),
         "architecture 'lejepa_ema': every loss weight it trains with is 0"),
        (lambda raw: raw["architectures"]["baseline"].update(lambda_contrastive=0.0), "architecture 'baseline': every loss weight"),
        (lambda raw: raw["mining"].update(rank_min=60, rank_max=50), "need rank_min <= rank_max <= top_k"),
        (lambda raw: raw["mining"].update(hard_negatives=0, random_negatives=0), "hard_negatives + random_negatives"),
        (lambda raw: raw.update(lambda_reg=math.nan), "lambda_reg"),
        (lambda raw: raw["train"].update(temperature=math.inf), "train.temperature"),
        (lambda raw: raw["report"].update(correction="sidak"), "report.correction: 'sidak' is not allowed"),
        (lambda raw: raw["report"].update(significance="sign"), "report.significance: 'sign' is not allowed"),
        (lambda raw: raw["architectures"]["isotropic"].update(predictor="transformer"), "architectures.isotropic.predictor"),
        (lambda raw: raw["train"].update(dropout=1.0), "train.dropout: must be < 1"),
        (lambda raw: raw["train"].update(ema_decay=1.5), "train.ema_decay: must be ≤ 1"),
        (lambda raw: raw["train"].update(output_dim=0), "train.output_dim: must be ≥ 1"),
    ],
)
def test_bad_combinations_fail_at_validation_in_one_line(change, message: str) -> None:
    raw = committed_params()
    change(raw)
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace("+", r"\+")) as error:
        parse_params(raw)
    assert "\n" not in str(error.value)
