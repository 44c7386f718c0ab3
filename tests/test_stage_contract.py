"""dvc.yaml and ragcun/paths.py state one stage contract: every file or folder a stage declares (non-code deps,
outs, metrics, plots) is a path paths.py produces, and every path paths.py produces is declared as some stage's
output (itself, inside a declared output, or a folder holding declared outputs).

A path the code writes but dvc.yaml does not declare is never cached, tracked or rerun; a declared path the code
does not write is a stage DVC reruns for nothing or a dep that never changes. The test reads whatever stages
dvc.yaml has, so it keeps holding when stages are merged or split.
"""

from __future__ import annotations

import copy
import inspect
from collections.abc import Callable, Iterator
from pathlib import Path, PurePosixPath
from typing import Any

import pytest
import yaml

from project_helpers import ROOT, expanded_stages
from ragcun import paths
from ragcun.code_manifest import stage_modules

CODE_PACKAGES = ("ragcun", "stages")  # the code-manifests stage's deps: tests/test_code_manifest.py checks those
DECLARING_KEYS = ("outs", "metrics", "plots")

# paths.py paths that are deliberately no stage's output, each with its reason
UNDECLARED = {
    # train@ARCH's per-epoch state for resuming a killed run, deleted when the run completes: never a result
    paths.RESUME,
}


def declared_paths(entries: list[Any]) -> list[str]:
    """The paths of an outs/metrics/plots list, whose entries are a path or {path: options}."""
    return [entry if isinstance(entry, str) else next(iter(entry)) for entry in entries]


def stage_paths(stage: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """(kind, path) of every non-code path a stage names: its data deps and its outputs."""
    for dep in stage.get("deps", []):
        if dep.split("/")[0] not in CODE_PACKAGES:
            yield "deps", dep
    for kind in DECLARING_KEYS:
        for path in declared_paths(stage.get(kind, [])):
            yield kind, path


def arguments_for(params: dict[str, Any]) -> dict[str, list[Any]]:
    """The values paths.py's functions are called with, per parameter name: what the stages iterate over."""
    return {
        "architecture": list(params["architectures"]),
        "dataset": list(params["evaluate"]["datasets"]),
        "seed": list(params["train"]["seeds"]),
        "stage_module": [path.stem for path in stage_modules(ROOT)],
    }


def produced_paths(arguments: dict[str, list[Any]]) -> set[PurePosixPath]:
    """Every path paths.py defines: its Path constants, and each function called with every value of its required
    parameters (optional ones left at their defaults)."""
    produced = {PurePosixPath(value.as_posix()) for value in vars(paths).values() if isinstance(value, Path)}
    functions: list[Callable[..., Path]] = [
        value for value in vars(paths).values() if inspect.isfunction(value) and value.__module__ == paths.__name__
    ]
    for function in functions:
        required = [p.name for p in inspect.signature(function).parameters.values() if p.default is inspect.Parameter.empty]
        unknown = [name for name in required if name not in arguments]
        assert not unknown, f"paths.{function.__name__}: teach this test what {unknown} ranges over"
        calls: list[dict[str, Any]] = [{}]
        for name in required:
            calls = [{**call, name: value} for call in calls for value in arguments[name]]
        produced |= {PurePosixPath(function(**call).as_posix()) for call in calls}
    return produced


def contract_problems(stages: dict[str, dict[str, Any]], produced: set[PurePosixPath]) -> list[str]:
    """Each way dvc.yaml and paths.py disagree, one line each (empty: they state the same contract)."""
    problems = [
        f"{name}: {kind} {path} is no path ragcun/paths.py produces"
        for name, stage in sorted(stages.items())
        for kind, path in stage_paths(stage)
        if PurePosixPath(path) not in produced
    ]
    outputs = {PurePosixPath(path) for stage in stages.values() for kind, path in stage_paths(stage) if kind != "deps"}
    for path in sorted(produced - {PurePosixPath(p.as_posix()) for p in UNDECLARED}):
        covered = any(path == out or out in path.parents or path in out.parents for out in outputs)
        if not covered:
            problems.append(f"ragcun/paths.py: {path} is no stage's declared output (nor inside or above one)")
    return problems


PARAMS = yaml.safe_load((ROOT / "params.yaml").read_text(encoding="utf-8"))
STAGES = expanded_stages()
PRODUCED = produced_paths(arguments_for(PARAMS))


def test_dvc_yaml_declares_exactly_the_paths_of_ragcun_paths() -> None:
    problems = contract_problems(STAGES, PRODUCED)
    assert not problems, "\n".join(problems)


def test_the_contract_covers_the_data_models_exports_metrics_and_reports() -> None:
    # the check above is only as strong as what it sees: every kind of output is among the declared paths
    declared = {PurePosixPath(path) for stage in STAGES.values() for kind, path in stage_paths(stage) if kind != "deps"}
    architecture = next(iter(PARAMS["architectures"]))
    for expected in (paths.MINED, paths.TRAIN_EMBEDDINGS, paths.model_folder(architecture),
                     paths.export_folder(architecture), paths.SUMMARY_METRICS, paths.COMPARISON_MARKDOWN):
        assert PurePosixPath(expected.as_posix()) in declared, expected
    assert any(path.parts[0] == "metrics" and architecture in path.name for path in declared)
    assert any(path.parts[0] == "reports" and architecture in path.name for path in declared)


def first_path(stages: dict[str, dict[str, Any]], kind: str) -> tuple[str, int]:
    """The first stage (by name) that names a non-code path of ``kind``, and that path's index in its list."""
    for name in sorted(stages):
        entries = stages[name].get(kind, [])
        for index, entry in enumerate(entries):
            path = entry if isinstance(entry, str) else next(iter(entry))
            if kind != "deps" or path.split("/")[0] not in CODE_PACKAGES:
                return name, index
    raise AssertionError(f"no stage of dvc.yaml has {kind}")


def misspell(stages: dict[str, dict[str, Any]], kind: str) -> str:
    """Rename one path of ``kind`` in place (its last part gains '-typo'); returns the stage changed."""
    name, index = first_path(stages, kind)
    entries = stages[name][kind]
    entry = entries[index]
    path = entry if isinstance(entry, str) else next(iter(entry))
    wrong = str(PurePosixPath(path).with_stem(PurePosixPath(path).stem + "-typo"))
    entries[index] = wrong if isinstance(entry, str) else {wrong: entry[path]}
    return name


def undeclare(stages: dict[str, dict[str, Any]], kind: str) -> str:
    """Drop one output of ``kind`` from every stage that declares it; returns the stage it was found in."""
    name, index = first_path(stages, kind)
    path = declared_paths(stages[name][kind])[index]
    for stage in stages.values():
        for key in DECLARING_KEYS:
            if key in stage:
                stage[key] = [entry for entry, declared in zip(stage[key], declared_paths(stage[key])) if declared != path]
    return name


@pytest.mark.parametrize(
    ("mutate", "kind"),
    [(misspell, "deps"), (misspell, "outs"), (misspell, "metrics"), (misspell, "plots"),
     (undeclare, "outs"), (undeclare, "metrics"), (undeclare, "plots")],
    ids=lambda value: value if isinstance(value, str) else value.__name__,
)
def test_a_wrong_or_missing_path_in_dvc_yaml_is_caught(mutate: Callable[[dict, str], str], kind: str) -> None:
    stages = copy.deepcopy(STAGES)
    changed = mutate(stages, kind)
    problems = contract_problems(stages, PRODUCED)
    assert problems, f"{mutate.__name__} on a {kind} of {changed} went unnoticed"
    assert all("\n" not in problem for problem in problems)


def test_a_path_in_paths_py_that_no_stage_declares_is_caught() -> None:
    stray = PurePosixPath(paths.METRICS.as_posix()) / "stray.json"
    problems = contract_problems(STAGES, PRODUCED | {stray})
    assert problems == [f"ragcun/paths.py: {stray} is no stage's declared output (nor inside or above one)"]


def test_dvc_lock_records_only_stages_that_dvc_yaml_defines() -> None:
    # DVC never drops the lock entry of a stage removed from dvc.yaml; a stale entry misleads a reader of the
    # lock and costs time: DVC re-parses and rewrites the whole lock with ruamel after every stage it runs.
    locked = set(yaml.safe_load((ROOT / "dvc.lock").read_text())["stages"])
    assert not locked - set(STAGES), f"dvc.lock: entries of stages dvc.yaml no longer defines: {sorted(locked - set(STAGES))}"
