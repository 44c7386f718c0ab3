"""params.yaml validation: every bad value fails before any work, naming the key and what is allowed."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from ragcun.config import load_params, parse_params, training_view
from ragcun.errors import ConfigError

REPOSITORY = Path(__file__).resolve().parents[1]


def test_the_committed_params_are_valid_and_name_every_seed_architecture():
    params = load_params(REPOSITORY / "params.yaml")
    assert set(params.architectures) == {
        "base", "baseline", "isotropic", "isotropic_predictor", "residual_gaussian",
        "asymmetric_dual", "asymmetric_predictor", "lejepa_ema",
    }
    assert params.lambda_isotropy == 1.5 and params.lambda_predictive == 1.2
    assert params.architecture("baseline").lambdas["lambda_isotropy"] == 0.0
    assert params.architecture("isotropic").lambdas["lambda_isotropy"] == 1.5


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"trian": {}}, "params.yaml: trian: unknown key (did you mean 'train'?)"),
        ({"train": {"batch_sise": 8}}, "params.yaml: train.batch_sise: unknown key (did you mean 'train.batch_size'?)"),
        ({"lamda_isotropy": 1.0}, "did you mean 'lambda_isotropy'?"),
        ({"train": {"batch_size": 0}}, "params.yaml: train.batch_size: must be ≥ 2, got 0"),
        ({"lambda_isotropy": -1}, "params.yaml: lambda_isotropy: must be ≥ 0"),
        ({"train": {"isotropy": "whitening"}}, "train.isotropy: 'whitening' is not allowed; input should be 'covariance', 'identity', 'shape' or 'sigreg'"),
        ({"architectures": {"x": {"score": "manhattan"}}, "report": {"baseline": "x"}}, "architectures.x.score: 'manhattan' is not allowed"),
        ({"evaluate": {"datasets": ["scifct"]}}, "evaluate.datasets: unknown dataset 'scifct' (did you mean 'scifact'?)"),
        ({"report": {"baseline": "basline"}}, "report.baseline names unknown architecture 'basline' (did you mean 'baseline'?)"),
        ({"data": {"source": "beir"}}, "params.yaml: data: source: beir needs train_dataset: <name>"),
        ({"data": {"source": "beir", "train_dataset": "../etc"}}, "data: train_dataset '../etc' is not a folder name"),
        ({"train": {"epochs": "three"}}, "train.epochs: input should be a valid integer"),
        ({"mining": {"rank_max": 500}}, "mining: need rank_min <= rank_max <= top_k"),
        ({"architectures": {"x": {"ema_target": True}}, "report": {"baseline": "x"}}, "ema_target: true needs a predictor"),
    ],
)
def test_bad_values_fail_with_one_line_naming_the_key(raw, message):
    with pytest.raises(ConfigError) as error:
        parse_params(raw)
    assert message in str(error.value)
    assert "\n" not in str(error.value)


def test_unknown_architecture_name_suggests_the_closest():
    with pytest.raises(ConfigError, match="unknown architecture 'isotropc' \\(did you mean 'isotropic'\\?\\)"):
        load_params(REPOSITORY / "params.yaml").architecture("isotropc")


def test_invalid_yaml_names_the_file_and_line(tmp_path):
    path = tmp_path / "params.yaml"
    path.write_text("seed: 1\ntrain:\n  epochs: [3\n")
    with pytest.raises(ConfigError, match=r"params.yaml:\d+: invalid YAML"):
        load_params(path)


def test_training_view_keeps_only_what_the_architecture_uses():
    params = load_params(REPOSITORY / "params.yaml")
    assert "lambda_predictive" not in training_view(params, "isotropic")
    assert "lambda_residual" in training_view(params, "residual_gaussian")
    assert "ema_decay" in training_view(params, "lejepa_ema")["train"]
    assert "lambda_isotropy" not in training_view(params, "base")
    # the view is itself a valid params file that resolves to the same architecture
    view = parse_params(training_view(params, "baseline"))
    assert view.architecture("baseline").lambdas == params.architecture("baseline").lambdas


@pytest.mark.parametrize("name", ["base", "isotropic", "lejepa_ema"])
def test_an_architectures_view_validates_without_a_report_section(name):
    # configs/<arch>.json compares nothing: it needs no report.baseline naming its one architecture
    params = load_params(REPOSITORY / "params.yaml")
    raw = training_view(params, name)
    assert "report" not in raw
    view = parse_params(raw, source=f"configs/{name}.json")
    assert list(view.architectures) == [name] and not view.compares_architectures
    assert view.architecture(name).lambdas == params.architecture(name).lambdas


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        # more than one architecture is a comparison: the default baseline must be one of them
        ({"architectures": {"x": {}, "y": {}}}, "report.baseline names unknown architecture 'baseline'"),
        # a report section is checked even with a single architecture
        ({"architectures": {"x": {}}, "report": {"baseline": "y"}}, "report.baseline names unknown architecture 'y'"),
        ({"architectures": {"x": {}}, "report": {}}, "report.baseline names unknown architecture 'baseline'"),
    ],
)
def test_a_comparison_still_needs_its_baseline(raw, message):
    with pytest.raises(ConfigError, match=message):
        parse_params(raw)


def test_a_stage_with_bad_params_exits_2_with_one_line_and_writes_nothing(tmp_path):
    params = yaml.safe_load((REPOSITORY / "params.yaml").read_text())
    params["train"]["batch_size"] = 0
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    result = subprocess.run(
        [sys.executable, str(REPOSITORY / "stages" / "configure.py")],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 2
    assert result.stderr.strip() == "error: params.yaml: train.batch_size: must be ≥ 2, got 0"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["params.yaml"]
