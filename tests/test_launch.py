"""train.processes: how many processes train, the global batch's split, and the `accelerate launch` command."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from ragcun import launch
from ragcun.config import parse_params
from ragcun.errors import ConfigError

REPOSITORY = Path(__file__).resolve().parents[1]


def _params(**train: object):
    raw = yaml.safe_load((REPOSITORY / "params.yaml").read_text(encoding="utf-8"))
    raw["train"].update(train)
    return parse_params(raw)


@pytest.mark.parametrize("value", [0, -2, "all", True, 1.5])
def test_train_processes_is_auto_or_a_whole_number_of_at_least_one(value):
    with pytest.raises(ConfigError, match=r"^params.yaml: train.processes: must be auto or a whole number >= 1"):
        _params(processes=value)
    assert _params(processes=3).train.processes == 3
    assert _params().train.processes == "auto"


def test_auto_is_every_visible_gpu_in_the_workspace_and_one_in_a_dvc_queue_executor(tmp_path, monkeypatch):
    import torch

    monkeypatch.setattr(torch.cuda, "device_count", lambda: 4)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DVC_ROOT", raising=False)
    assert launch.training_processes("auto") == 4, "a plain `python -m stages.train`"
    monkeypatch.setenv("DVC_ROOT", str(tmp_path))
    assert launch.training_processes("auto") == 4, "`dvc repro` runs the stage in the repository itself"
    monkeypatch.setenv("DVC_ROOT", str(tmp_path / "elsewhere"))
    assert launch.training_processes("auto") == 1, "a queued experiment runs in a copy: it keeps one GPU"
    assert launch.training_processes(2) == 2, "an explicit number always wins"
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 0)
    monkeypatch.delenv("DVC_ROOT")
    assert launch.training_processes("auto") == 1, "a CPU machine trains in one process"


def test_the_global_batch_must_divide_between_the_processes():
    assert launch.per_process_batch(64, 8) == 8
    with pytest.raises(ConfigError, match="train.batch_size 63 is the global batch .* 2 training processes .* e.g. 62"):
        launch.per_process_batch(63, 2)


def test_a_launched_process_is_recognised_and_never_relaunched(monkeypatch):
    for name in ("WORLD_SIZE", "PMI_SIZE", "OMPI_COMM_WORLD_SIZE"):
        monkeypatch.delenv(name, raising=False)
    assert not launch.under_launcher()
    monkeypatch.setenv("WORLD_SIZE", "16")
    assert launch.under_launcher()


def test_the_launch_command_is_accelerates_torchrun_launcher_on_the_stage_module():
    command = launch.launch_command(4, ["isotropic", "--params", "p.json"], "bf16")
    assert command[1:3] == ["-m", "accelerate.commands.launch"]
    assert command[command.index("--num_processes") + 1] == "4"
    assert command[command.index("--mixed_precision") + 1] == "bf16"
    assert "--multi_gpu" in command and "--cpu" not in command
    assert command[-5:] == ["-m", "stages.train", "isotropic", "--params", "p.json"]
    port = int(command[command.index("--main_process_port") + 1])
    assert port != 29500 and port > 0


@pytest.mark.parametrize(
    ("setting", "seeds", "threads", "cores", "expected"),
    [
        ("auto", 3, 1, 2, 3),  # the embedded default on the 2-core machine: single-threaded, two per core
        ("auto", 5, 1, 2, 4),  # ... and no more than two per core
        ("auto", 3, 1, 1, 2),
        ("auto", 3, 1, 16, 3),  # never more processes than seeds
        ("auto", 3, 4, 16, 3),
        ("auto", 3, 4, 8, 2),  # multi-threaded processes: cores // cpu_threads, no time slicing
        ("auto", 3, 4, 2, 1),  # fewer cores than one process's threads: still one
        (2, 5, 1, 1, 2),  # an explicit number is taken as given ...
        (8, 3, 1, 64, 3),  # ... up to one per seed
    ],
)
def test_seed_processes_fill_the_cores_single_threaded_ones_two_per_core(setting, seeds, threads, cores, expected):
    assert launch.seed_processes(setting, seeds, threads, cores=cores) == expected


@pytest.mark.parametrize("value", [0, -1, "two", 1.5, True])
def test_seed_processes_and_cpu_threads_reject_what_is_not_a_count(value):
    with pytest.raises(ConfigError, match=r"^params.yaml: train.seed_processes: must be auto or a whole number >= 1"):
        _params(seed_processes=value)
    with pytest.raises(ConfigError, match=r"^params.yaml: train.cpu_threads"):
        _params(cpu_threads=value)
    assert _params().train.seed_processes == "auto" and _params().train.cpu_threads == 1
