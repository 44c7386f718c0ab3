"""Data-parallel training on 2 CPU processes (gloo) of the tiny project: each process trains half of every
global batch, the result equals one process's with the same global batch, and one process writes.

Dropout is 0 in these tests: every process draws its own dropout masks for its own rows, so with dropout the
two runs are equally valid but not equal. SIGReg (train.isotropy: sigreg) is on, so the random directions must
be the same in both processes for the weights to match.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
import torch
import torch.multiprocessing as mp
from project_helpers import set_params
from safetensors.torch import load_file

from ragcun import paths
from ragcun.config import load_params
from ragcun.steps.configure import run as run_configure
from ragcun.steps.embed import run as run_embed
from ragcun.steps.train import run as run_train

REPOSITORY = Path(__file__).resolve().parents[1]
ARCHITECTURE = "isotropic_predictor"  # head + predictor: contrastive, isotropy, std and predictive terms
EPOCHS, BATCH = 2, 8


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _prepare(project: Path) -> None:
    set_params(project / "params.yaml", train__dropout=0.0, train__isotropy="sigreg", train__epochs=EPOCHS,
               train__batch_size=BATCH)
    run_embed(load_params())


def _train_in_this_process() -> dict[str, torch.Tensor]:
    run_configure(load_params())
    run_train(load_params(paths.architecture_config(ARCHITECTURE)), ARCHITECTURE)
    return load_file(str(paths.checkpoint(ARCHITECTURE, 0) / "model.safetensors"))


def _examples_per_epoch() -> int:
    examples = len(Path("data/mined/train.jsonl").read_text().splitlines())
    return examples - examples % BATCH  # full global batches only


def _instrumented_worker(rank: int, port: int, project: str, record_dir: str) -> None:
    """One launched process, as `accelerate launch` starts it, recording what it trains and what it writes."""
    os.environ.update(RANK=str(rank), LOCAL_RANK=str(rank), WORLD_SIZE="2", LOCAL_WORLD_SIZE="2",
                      MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), OMP_NUM_THREADS="1")
    os.chdir(project)
    import dvclive

    import ragcun.io
    import ragcun.model
    import ragcun.steps.train as step
    import ragcun.training as training

    trained: list[list[str]] = []
    writes: Counter[str] = Counter()
    original_batch_losses = training.Trainer._batch_losses

    def batch_losses(self, forward, core, batch, *args, **kwargs):
        trained.append([example.query for example in batch])
        return original_batch_losses(self, forward, core, batch, *args, **kwargs)

    def counted(name, function):
        def wrapper(*args, **kwargs):
            writes[name] += 1
            return function(*args, **kwargs)
        return wrapper

    training.Trainer._batch_losses = batch_losses
    step.save_checkpoint = counted("checkpoint", ragcun.model.save_checkpoint)
    step.write_json = counted("training.json", ragcun.io.write_json)
    step.atomic_path = counted("model folder", ragcun.io.atomic_path)
    training.dev_metrics = counted("dev scoring", training.dev_metrics)
    training.ResumeState.save = counted("resume state", training.ResumeState.save)
    dvclive.Live.__init__ = counted("dvclive", dvclive.Live.__init__)
    run_train(load_params(paths.architecture_config(ARCHITECTURE)), ARCHITECTURE)
    Path(record_dir, f"rank{rank}.json").write_text(json.dumps({"trained": trained, "writes": writes}))


def test_two_processes_train_disjoint_halves_match_one_process_and_one_writes(tiny_project, tmp_path_factory):
    _prepare(tiny_project)
    reference = _train_in_this_process()
    paths.model_folder(ARCHITECTURE).rename(tiny_project / "one-process-model")

    records = tmp_path_factory.mktemp("records")
    mp.spawn(_instrumented_worker, args=(_free_port(), str(tiny_project), str(records)), nprocs=2, join=True)
    ranks = [json.loads((records / f"rank{rank}.json").read_text()) for rank in range(2)]

    per_epoch = _examples_per_epoch()
    steps = per_epoch // BATCH
    for rank in ranks:
        assert len(rank["trained"]) == EPOCHS * steps, "each process takes every optimiser step"
        assert all(len(batch) == BATCH // 2 for batch in rank["trained"]), "each holds half of each global batch"
    for epoch in range(EPOCHS):
        halves = [[query for batch in rank["trained"][epoch * steps:(epoch + 1) * steps] for query in batch]
                  for rank in ranks]
        assert len(halves[0]) == len(halves[1]) == per_epoch // 2
        assert not set(halves[0]) & set(halves[1]), "the two shares of an epoch are disjoint"
        assert len(set(halves[0]) | set(halves[1])) == per_epoch
    # Process r holds rows r*B/2 .. of each global batch: together, in rank order, they are one-process batches.
    joined = [first + second for first, second in zip(ranks[0]["trained"], ranks[1]["trained"])]
    assert len({tuple(batch) for batch in joined}) == len(joined)

    assert ranks[1]["writes"] == {}, "the second process writes nothing"
    assert ranks[0]["writes"] == {"model folder": 1, "checkpoint": 1, "training.json": 1, "dev scoring": EPOCHS,
                                  "resume state": EPOCHS, "dvclive": 1}

    distributed = load_file(str(paths.checkpoint(ARCHITECTURE, 0) / "model.safetensors"))
    assert set(distributed) == set(reference)
    changed = 0
    for key, expected in reference.items():
        # float32 with summation in another order (a gathered batch, DDP's mean of two gradients): 1e-5
        # relative, 1e-6 absolute near zero (measured: at most 1.6e-7 relative, 1.5e-8 absolute; not bitwise equal).
        torch.testing.assert_close(distributed[key], expected, rtol=1e-5, atol=1e-6, msg=key)
        untrained_init = key.endswith(("input_mean", "input_scale", "output_gain"))
        changed += 0 if untrained_init else 1
    assert changed > 0
    summary = json.loads((paths.model_folder(ARCHITECTURE) / "training.json").read_text())
    one_process = json.loads((tiny_project / "one-process-model" / "training.json").read_text())
    assert summary["best_dev_mrr@10"] == pytest.approx(one_process["best_dev_mrr@10"], abs=1e-6)


def test_the_train_stage_launches_itself_through_accelerate_with_train_processes_2(tiny_project):
    _prepare(tiny_project)
    reference = _train_in_this_process()
    set_params(tiny_project / "params.yaml", train__processes=2)
    run_configure(load_params())
    environment = dict(os.environ, PYTHONPATH=str(REPOSITORY), OMP_NUM_THREADS="1")
    environment.pop("WORLD_SIZE", None)
    completed = subprocess.run(
        [sys.executable, "-m", "stages.train", ARCHITECTURE, "--params", str(paths.architecture_config(ARCHITECTURE))],
        cwd=tiny_project, env=environment, capture_output=True, text=True, timeout=300,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    shares = [line for line in completed.stderr.splitlines() if "trained" in line and "process" in line]
    for process in (1, 2):
        assert sum(f"process {process} of 2 trained {_examples_per_epoch() // 2} examples" in line
                   for line in shares) == EPOCHS, completed.stderr[-3000:]
    launched = load_file(str(paths.checkpoint(ARCHITECTURE, 0) / "model.safetensors"))
    for key, expected in reference.items():
        torch.testing.assert_close(launched[key], expected, rtol=1e-5, atol=1e-6, msg=key)


def test_a_global_batch_that_does_not_divide_between_the_processes_fails_before_launching(tiny_project):
    _prepare(tiny_project)
    set_params(tiny_project / "params.yaml", train__processes=3)
    run_configure(load_params())
    from ragcun.errors import ConfigError

    with pytest.raises(ConfigError, match="train.batch_size 8 is the global batch and must be divisible by the 3"):
        run_train(load_params(paths.architecture_config(ARCHITECTURE)), ARCHITECTURE)
