"""Training on the tiny project: the frozen-base cache, modes, determinism, resume, NaN handling, fine-tuning."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
import project_helpers
from safetensors.torch import load_file

from ragcun import paths, training
from ragcun.config import load_params, parse_params
from ragcun.encoder import BaseEncoder
from ragcun.errors import CheckpointError, TrainingDivergedError
from ragcun.steps.common import load_trained
from ragcun.steps.configure import run as run_configure
from ragcun.steps.embed import run as run_embed
from ragcun.steps.train import run as run_train
from ragcun.training_summary import EXAMPLES, STEPS, SeedSummary

ALL_TRAINED = ["baseline", "isotropic", "isotropic_predictor", "residual_gaussian", "asymmetric_dual",
               "asymmetric_predictor", "lejepa_ema"]


@pytest.fixture
def encoder_calls(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls: list[int] = []
    original = BaseEncoder.forward

    def counting(self: BaseEncoder, *args: object, **kwargs: object) -> torch.Tensor:
        calls.append(1)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(BaseEncoder, "forward", counting)
    return calls


def set_params(**changes: object) -> None:
    project_helpers.set_params(Path("params.yaml"), **changes)


def train(name: str) -> dict:
    params = load_params()
    run_configure(params)
    run_train(load_params(paths.architecture_config(name)), name)
    return json.loads((paths.model_folder(name) / "training.json").read_text())


def weights(name: str, seed: int = 0) -> dict[str, torch.Tensor]:
    return load_file(str(paths.checkpoint(name, seed) / "model.safetensors"))


def without_timings(summary: dict) -> dict:
    return {
        key: without_timings(value) if isinstance(value, dict) else value
        for key, value in summary.items()
        if not key.startswith("seconds")
    }


def test_frozen_base_training_reads_the_cache_and_never_runs_the_encoder(tiny_project, encoder_calls):
    run_embed(load_params())
    assert encoder_calls, "the embed stage runs the encoder"
    encoder_calls.clear()
    train("isotropic")
    set_params(lambda_isotropy=0.7)
    train("isotropic")
    train("base")
    assert encoder_calls == []


def test_every_architecture_trains_and_selects_its_best_epoch_by_dev_mrr(tiny_project):
    run_embed(load_params())
    for name in ALL_TRAINED:
        metrics = train(name)
        assert metrics["trainable_parameters"] > 0
        assert 1 <= metrics["best_epoch"] <= 2
        assert metrics["best_dev_mrr@10"] >= metrics["final_dev_mrr@10"] - 1e-12
        model = load_trained(load_params(), name, 0)
        queries = model.encode_queries(torch.randn(3, 16))
        documents = model.encode_documents(torch.randn(5, 16))
        assert queries.shape == (3, 16) and documents.shape == (5, 16)


@pytest.mark.parametrize("mode", ["xy_masked", "doc_split"])
def test_self_supervised_modes_train_on_cached_derived_texts(tiny_project, mode, encoder_calls):
    set_params(train__mode=mode)
    run_embed(load_params())
    encoder_calls.clear()
    metrics = train("isotropic_predictor")
    assert encoder_calls == []
    records = [json.loads(line) for line in Path("data/mined/train.jsonl").read_text().splitlines()]
    assert metrics["examples"] == len({doc for record in records for doc in record["positive_ids"]})


def test_training_is_deterministic_on_cpu(tiny_project):
    run_embed(load_params())
    first = train("lejepa_ema")
    first_weights = weights("lejepa_ema")
    second = train("lejepa_ema")
    second_weights = weights("lejepa_ema")
    assert without_timings(first) == without_timings(second)
    assert all(torch.equal(first_weights[key], second_weights[key]) for key in first_weights)


def test_a_killed_run_resumes_after_its_last_epoch_and_ends_where_an_uninterrupted_run_ends(tiny_project, monkeypatch):
    import ragcun.training as training

    set_params(train__epochs=3)
    run_embed(load_params())
    reference = train("isotropic")
    reference_weights = weights("isotropic")
    paths.model_folder("isotropic").rename("reference-model")

    original = training.dev_metrics
    epochs_seen: list[int] = []

    def dies_in_epoch_two(*args, **kwargs):
        epochs_seen.append(1)
        if len(epochs_seen) == 2:
            raise KeyboardInterrupt
        return original(*args, **kwargs)

    monkeypatch.setattr(training, "dev_metrics", dies_in_epoch_two)
    with pytest.raises(KeyboardInterrupt):
        train("isotropic")
    assert not paths.model_folder("isotropic").exists()
    assert list(paths.RESUME.iterdir()), "state of epoch 1 was kept"

    calls: list[int] = []

    def counting(*args, **kwargs):
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(training, "dev_metrics", counting)
    resumed = train("isotropic")
    assert len(calls) == 2, "only epochs 2 and 3 ran again"
    resumed_weights = weights("isotropic")
    assert all(torch.equal(reference_weights[key], resumed_weights[key]) for key in reference_weights)
    assert resumed["best_dev_mrr@10"] == reference["best_dev_mrr@10"]
    assert not list(paths.RESUME.iterdir()), "the state is removed once training finished"


def test_a_non_finite_loss_stops_training_without_a_checkpoint(tiny_project, monkeypatch):
    import ragcun.training as training

    run_embed(load_params())
    original = training.combine_losses

    def poisoned(*args, **kwargs):
        losses = original(*args, **kwargs)
        losses["total"] = losses["total"] * float("nan")
        return losses

    monkeypatch.setattr(training, "combine_losses", poisoned)
    with pytest.raises(TrainingDivergedError, match="isotropic: loss became nan"):
        train("isotropic")
    assert not paths.model_folder("isotropic").exists()


def test_schedule_steps_per_optimiser_step_so_warmup_finishes(tiny_project):
    set_params(train__warmup_ratio=0.5)
    run_embed(load_params())
    train("baseline")
    rows = Path(paths.training_log("baseline", 0) / "plots" / "metrics" / "train" / "lr_head.tsv").read_text().splitlines()
    learning_rates = [float(row.split("\t")[-1]) for row in rows[1:]]
    assert max(learning_rates) == pytest.approx(5e-4)
    assert learning_rates[-1] < learning_rates[len(learning_rates) // 2]


@pytest.mark.parametrize(("warmup", "total"), [(0, 10), (3, 10), (10, 10), (7, 25)])
def test_linear_schedule_matches_transformers(warmup, total):
    from transformers import get_linear_schedule_with_warmup

    def learning_rates(make_scheduler):
        optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.5)
        scheduler = make_scheduler(optimizer)
        rates = []
        for _ in range(total + 2):
            rates.append(scheduler.get_last_lr()[0])
            optimizer.step()
            scheduler.step()
        return rates

    ours = learning_rates(lambda optimizer: training.linear_warmup_then_decay(optimizer, warmup, total))
    reference = learning_rates(lambda optimizer: get_linear_schedule_with_warmup(optimizer, warmup, total))
    assert ours == pytest.approx(reference, abs=1e-12)
    assert ours[total] == 0.0, "decays to zero at the last step"
    if warmup < total:
        assert max(ours) == pytest.approx(0.5), "reaches the configured learning rate"


def test_full_fine_tuning_updates_the_encoder_at_its_own_learning_rate(tiny_project, encoder_calls):
    set_params(train__freeze_base=False, train__epochs=1, train__lr_base=1e-3)
    run_embed(load_params())
    encoder_calls.clear()
    train("isotropic")
    assert encoder_calls, "fine-tuning runs the encoder"
    state = weights("isotropic")
    assert any(key.startswith("encoder.") for key in state)
    original = BaseEncoder.from_pretrained(load_params().model.base).state_dict()
    changed = [key for key, value in original.items() if not torch.equal(value, state[f"encoder.{key}"])]
    assert changed, "the encoder's weights moved"


def test_a_checkpoint_for_another_base_model_is_refused(tiny_project):
    run_embed(load_params())
    train("isotropic")
    config_path = paths.checkpoint("isotropic", 0) / "config.json"
    config = json.loads(config_path.read_text())
    config["base_model"] = "sentence-transformers/all-mpnet-base-v2"
    config_path.write_text(json.dumps(config))
    with pytest.raises(CheckpointError, match="base_model"):
        load_trained(load_params(), "isotropic", 0)


def test_lambda_change_only_changes_the_configs_of_architectures_using_it(tiny_project):
    params = load_params()
    run_configure(params)
    before = {p.name: p.read_text() for p in paths.CONFIGS.glob("*.json")}
    set_params(lambda_isotropy=0.3, lambda_residual=0.5)
    run_configure(load_params())
    after = {p.name: p.read_text() for p in paths.CONFIGS.glob("*.json")}
    changed = sorted(name for name in before if before[name] != after[name])
    assert changed == sorted(f"{n}.json" for n in ALL_TRAINED if n != "baseline")
    residual = parse_params(json.loads(after["residual_gaussian.json"]))
    assert residual.architecture("residual_gaussian").lambdas["lambda_residual"] == 0.5


def test_each_training_seed_trains_with_its_own_weights(tiny_project):
    set_params(train__seeds=[3, 7])
    run_embed(load_params())
    summary = train("isotropic_predictor")
    assert sorted(summary["seeds"]) == ["3", "7"]
    first, second = weights("isotropic_predictor", 3), weights("isotropic_predictor", 7)
    assert any(not torch.equal(first[key], second[key]) for key in first), "seeds differ"
    per_seed = [summary["seeds"][s]["best_dev_mrr@10"] for s in ("3", "7")]
    assert summary["best_dev_mrr@10"] == pytest.approx(sum(per_seed) / 2)
    assert summary["best_dev_mrr@10_std"] == pytest.approx(abs(per_seed[0] - per_seed[1]) / 2**0.5)
    shares = {key: value for key, value in summary["seeds"]["3"].items() if key.startswith("share_")}
    assert set(shares) == {"share_contrastive", "share_isotropy", "share_reg", "share_predictive"}
    assert sum(shares.values()) == pytest.approx(1.0)
    for seed in (3, 7):
        logged = paths.training_log("isotropic_predictor", seed) / "plots" / "metrics" / "train" / "share_isotropy.tsv"
        assert logged.is_file(), "each step's shares are logged through DVCLive"
        assert not (paths.training_log("isotropic_predictor", seed) / "metrics.json").exists()


def test_the_training_seed_changes_only_the_trained_architectures_settings(tiny_project):
    run_configure(load_params())
    before = {p.name: p.read_text() for p in paths.CONFIGS.glob("*.json")}
    set_params(train__seeds=[5], seed=99)  # the data seed (mining) is not part of any architecture's settings
    run_configure(load_params())
    after = {p.name: p.read_text() for p in paths.CONFIGS.glob("*.json")}
    assert sorted(name for name in before if before[name] != after[name]) == sorted(f"{n}.json" for n in ALL_TRAINED)


def test_a_run_killed_at_a_later_seed_does_not_train_the_earlier_seeds_again(tiny_project, monkeypatch):
    import ragcun.training as training

    set_params(train__seeds=[3, 7], train__seed_processes=1)  # in this process: the patched calls are counted
    run_embed(load_params())
    original = training.dev_metrics
    calls: list[int] = []

    def dies_in_the_second_seed(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:  # 2 epochs per seed: the first epoch of seed 7
            raise KeyboardInterrupt
        return original(*args, **kwargs)

    monkeypatch.setattr(training, "dev_metrics", dies_in_the_second_seed)
    with pytest.raises(KeyboardInterrupt):
        train("isotropic")
    assert not paths.model_folder("isotropic").exists(), "no half-written model folder"
    calls.clear()
    monkeypatch.setattr(training, "dev_metrics", lambda *a, **k: (calls.append(1), original(*a, **k))[1])
    summary = train("isotropic")
    assert len(calls) == 2, "seed 3 resumed from its final state; only seed 7's two epochs ran"
    assert sorted(summary["seeds"]) == ["3", "7"]
    assert not list(paths.RESUME.iterdir())


def truncate(path: Path, size: int) -> None:
    """Replace the file by its first ``size`` bytes (a new file: never write into a DVC-cache link)."""
    data = path.read_bytes()[:size]
    path.unlink()
    path.write_bytes(data)


@pytest.mark.parametrize("size", [0, 8, 200, -16])  # -16: all but the last 16 bytes
def test_a_corrupted_checkpoint_is_a_one_line_checkpoint_error_naming_the_file(tiny_project, size):
    run_embed(load_params())
    train("isotropic")
    weights_path = paths.checkpoint("isotropic", 0) / "model.safetensors"
    truncate(weights_path, size)
    with pytest.raises(CheckpointError) as raised:
        load_trained(load_params(), "isotropic", 0)
    message = str(raised.value)
    assert str(weights_path) in message and "\n" not in message


def test_a_corrupted_checkpoint_config_is_a_checkpoint_error(tiny_project):
    run_embed(load_params())
    train("isotropic")
    config_path = paths.checkpoint("isotropic", 0) / "config.json"
    config_path.write_text('{"base_model": ')
    with pytest.raises(CheckpointError, match=r"config\.json"):
        load_trained(load_params(), "isotropic", 0)


def test_an_unreadable_resume_state_is_discarded_with_a_warning_and_training_restarts(tiny_project, monkeypatch, caplog):
    import logging

    import ragcun.training as training

    set_params(train__epochs=2)
    run_embed(load_params())
    train("isotropic")
    reference = weights("isotropic")
    paths.model_folder("isotropic").rename("reference-model")

    original = training.dev_metrics
    calls: list[int] = []

    def dies_in_epoch_two(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return original(*args, **kwargs)

    monkeypatch.setattr(training, "dev_metrics", dies_in_epoch_two)
    with pytest.raises(KeyboardInterrupt):
        train("isotropic")
    (state,) = list(paths.RESUME.iterdir())
    truncate(state / "model.safetensors", 100)
    calls.clear()
    monkeypatch.setattr(training, "dev_metrics", lambda *a, **k: (calls.append(1), original(*a, **k))[1])
    with caplog.at_level(logging.WARNING):
        train("isotropic")
    assert len(calls) == 2, "both epochs ran again: nothing of the broken state was trusted"
    assert str(state) in caplog.text
    restarted = weights("isotropic")
    assert all(torch.equal(reference[key], restarted[key]) for key in reference)
    assert not list(paths.RESUME.iterdir())


def folder_bytes(folder: Path) -> dict[str, bytes]:
    return {str(path.relative_to(folder)): path.read_bytes() for path in sorted(folder.rglob("*")) if path.is_file()}


@pytest.mark.parametrize("name", ["base", "isotropic"])
def test_a_retrain_with_identical_weights_leaves_the_model_folder_byte_identical(tiny_project, name):
    # DVC hashes the model folder: a timing inside it would make evaluate@ARCH rerun and its metrics churn.
    run_embed(load_params())
    train(name)
    first = folder_bytes(paths.model_folder(name))
    train(name)
    assert folder_bytes(paths.model_folder(name)) == first


def test_trained_and_untrained_seeds_share_one_summary_definition(tiny_project):
    run_embed(load_params())
    base, baseline = train("base")["seeds"]["0"], train("baseline")["seeds"]["0"]
    keys = set(SeedSummary.untrained({"mrr@10": 0.5}).metrics())
    assert set(base) == keys and keys < set(baseline)
    # the Trainer's run counts, under the names the export reads
    assert {EXAMPLES, STEPS} <= set(baseline) - keys and baseline[EXAMPLES] > 0 and baseline[STEPS] > 0
    assert base["best_epoch"] == 0 and base["trainable_parameters"] == 0
    assert base["best_dev_mrr@10"] == base["final_dev_mrr@10"] > 0
    assert baseline["best_epoch"] >= 1 and baseline["trainable_parameters"] > 0


def test_seeds_trained_in_parallel_processes_equal_seeds_trained_one_after_the_other(tiny_project):
    set_params(train__seeds=[3, 7], train__seed_processes=2)
    run_embed(load_params())
    parallel = train("isotropic_predictor")
    parallel_weights = {seed: weights("isotropic_predictor", seed) for seed in (3, 7)}
    set_params(train__seed_processes=1)
    sequential = train("isotropic_predictor")
    assert without_timings(parallel) == without_timings(sequential)
    for seed in (3, 7):
        sequential_weights = weights("isotropic_predictor", seed)
        assert all(torch.equal(parallel_weights[seed][k], sequential_weights[k]) for k in sequential_weights)
    assert not list(paths.RESUME.iterdir()), "the forked runs' resume states are cleared by the stage"


def test_a_seed_failing_in_its_forked_process_fails_the_stage_without_a_model_folder(tiny_project, monkeypatch):
    set_params(train__seeds=[3, 7], train__seed_processes=2)
    run_embed(load_params())
    original = training.combine_losses

    def diverges_for_seed_7(*args, **kwargs):
        losses = original(*args, **kwargs)
        if torch.initial_seed() == 7:
            losses["total"] = losses["total"] * float("nan")
        return losses

    monkeypatch.setattr(training, "combine_losses", diverges_for_seed_7)
    with pytest.raises(TrainingDivergedError):
        train("isotropic")
    assert not paths.model_folder("isotropic").exists()


def test_cpu_training_uses_the_configured_thread_count(tiny_project):
    set_params(train__cpu_threads=1)
    run_embed(load_params())
    torch.set_num_threads(2)
    try:
        train("isotropic")
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(2)
