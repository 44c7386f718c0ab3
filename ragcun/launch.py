"""How many processes train one architecture, and starting them through Accelerate's own launcher.

`dvc repro` runs `python -m stages.train ARCH --params configs/ARCH.json`, one process. With
``train.processes`` above 1 (``auto``: every visible GPU) that process starts `accelerate launch` on the same
stage command and waits for it; the launched processes see the distributed environment (WORLD_SIZE, RANK, ...)
that the launcher sets and train instead of relaunching. A stage started by the user under `accelerate launch`
or torchrun (several nodes, README "Running on GPUs") is recognised the same way and never relaunched.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Literal

from ragcun.errors import ConfigError, RagcunError

logger = logging.getLogger(__name__)


class TrainingLaunchError(RagcunError):
    """A launched training process failed; its own error message is above."""

    exit_code = 1


def under_launcher() -> bool:
    """True inside a process started by a distributed launcher (accelerate launch, torchrun, mpirun)."""
    return any(name in os.environ for name in ("WORLD_SIZE", "PMI_SIZE", "OMPI_COMM_WORLD_SIZE"))


def in_dvc_temporary_executor() -> bool:
    """True inside `dvc exp run --queue` / `--temp`: DVC runs those in a copy of the repository and points
    DVC_ROOT at the original (dvc/repo/experiments/queue/base.py), while `dvc repro` and a workspace
    `dvc exp run` set it to the folder the stage runs in."""
    root = os.environ.get("DVC_ROOT")
    return root is not None and Path(root).resolve() != Path.cwd().resolve()


def training_processes(setting: int | Literal["auto"]) -> int:
    """The number of training processes ``train.processes`` asks for on this machine.

    ``auto``: the number of visible CUDA GPUs (CUDA_VISIBLE_DEVICES limits it), 1 on a CPU machine and 1 in a
    DVC queue or temp executor, where parallel experiments each keep one GPU (ragcun/devices.py).
    """
    if setting != "auto":
        return setting
    if in_dvc_temporary_executor():
        return 1
    import torch

    # device_count() asks NVML without creating a CUDA context, so the launched processes can still pick theirs.
    return max(1, torch.cuda.device_count())


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity: a container's or taskset's limit), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # macOS has no affinity call
        return max(1, os.cpu_count() or 1)


def seed_processes(setting: int | Literal["auto"], seeds: int, cpu_threads: int, cores: int | None = None) -> int:
    """How many seeds of one frozen-base CPU training run at once (``train.seed_processes``).

    ``auto``: as many processes of ``cpu_threads`` threads as the usable cores hold, never more than the seeds;
    single-threaded processes up to two per core. The OS time-slices single-threaded processes at no measured cost
    (no OpenMP team to wait for), so the seeds that would form a second round run in the first: 3 seeds of the
    embedded default on 2 cores, train@isotropic 6.7-7.0 s as 3 processes against 8.8 s as 2 then 1. Two per core
    bounds the memory (each process holds its model, optimiser and batches). Queued experiments too: with
    `dvc queue start -j 2` the processes of two experiments share the cores the same way.
    """
    if setting != "auto":
        return max(1, min(setting, seeds))
    available = usable_cores() if cores is None else cores
    fitting = available // cpu_threads
    if cpu_threads == 1:
        fitting *= 2
    return max(1, min(seeds, fitting))


def per_process_batch(batch_size: int, processes: int) -> int:
    """train.batch_size is the global batch; each of ``processes`` trains an equal share of it."""
    if batch_size % processes:
        raise ConfigError(
            f"train.batch_size {batch_size} is the global batch and must be divisible by the {processes} training "
            f"processes (each trains batch_size / processes examples per step); use e.g. "
            f"{batch_size - batch_size % processes or processes}"
        )
    return batch_size // processes


def _free_port() -> int:
    # Several trainings may launch at once (a DVC queue with -j 2 on CPU); the launcher's fixed default port
    # 29500 would make the second one fail.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def launch_command(processes: int, stage_arguments: list[str], mixed_precision: str) -> list[str]:
    """`accelerate launch` of ``python -m stages.train ARGS`` on ``processes`` local processes.

    ``--multi_gpu`` selects Accelerate's torchrun launcher, which starts one process per rank on GPUs and on a
    CPU machine alike (there the processes use gloo); ``--cpu`` starts several processes only through mpirun.
    """
    return [
        sys.executable, "-m", "accelerate.commands.launch",
        "--multi_gpu", "--num_processes", str(processes), "--num_machines", "1", "--machine_rank", "0",
        "--main_process_ip", "127.0.0.1", "--main_process_port", str(_free_port()),
        "--mixed_precision", mixed_precision, "--dynamo_backend", "no", "--quiet",
        "-m", "stages.train", *stage_arguments,
    ]


def relaunch_training(name: str, params_payload: dict, processes: int, mixed_precision: str) -> None:
    """Run train@``name`` in ``processes`` processes with exactly these settings and wait for them.

    The settings go to the launched processes as a file written here, so they train what this process
    validated, whatever file it was started with.
    """
    with tempfile.TemporaryDirectory(prefix="ragcun-launch-") as folder:
        params_file = Path(folder) / "params.json"
        params_file.write_text(json.dumps(params_payload), encoding="utf-8")
        command = launch_command(processes, [name, "--params", str(params_file)], mixed_precision)
        logger.info("train@%s: launching %d processes: %s", name, processes, " ".join(command))
        completed = subprocess.run(command, check=False)
    if completed.returncode != 0:
        raise TrainingLaunchError(
            f"train@{name}: the {processes} training processes failed (exit code {completed.returncode}); "
            "their errors are above"
        )
