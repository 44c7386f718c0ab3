"""Warm stage workers (ragcun/warm.py): a stage command handed to a forked worker behaves as the same command
run in its own process (output, exit status, signals, the code on disk), and start-up is paid once."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ragcun import warm

ROOT = Path(__file__).resolve().parents[1]

# A stage-like module: hands itself over exactly as stages/*.py do, then reports what its process looks like.
PROBE = '''
import json, os, sys, time
if __name__ == "__main__":
    preloaded = sorted(name for name in ("torch", "numpy") if name in sys.modules)
    from ragcun.warm import run_here_or_in_worker

    run_here_or_in_worker()
    from stages import probe_helper

    action = sys.argv[1]
    if action == "fail":
        print("boom on stderr", file=sys.stderr)
        sys.exit(3)
    if action == "sleep":
        Path = __import__("pathlib").Path
        Path(sys.argv[2]).write_text(str(os.getpid()))
        time.sleep(60)
    print(json.dumps({
        "pid": os.getpid(), "cwd": os.getcwd(), "argv": sys.argv, "helper": probe_helper.VERSION,
        "variable": os.environ.get("DVC_EXP_NAME"), "preloaded": preloaded,
        "project_modules": sorted(name for name in sys.modules if name.split(".")[0] == "ragcun"),
    }))
'''


@pytest.fixture()
def project(tmp_path: Path) -> Iterator[Path]:
    """A folder with stages/probe.py, the ragcun package importable, and its own warm-server folder; every
    server started there is killed at the end."""
    (tmp_path / "stages").mkdir()
    (tmp_path / "stages" / "__init__.py").write_text("")
    (tmp_path / "stages" / "probe.py").write_text(PROBE)
    (tmp_path / "stages" / "probe_helper.py").write_text("VERSION = 1\n")
    (tmp_path / "ragcun").symlink_to(ROOT / "ragcun")
    yield tmp_path
    for pid_file in (tmp_path / "warm").glob("*.pid"):
        try:
            os.kill(int(pid_file.read_text()), signal.SIGKILL)
        except (ProcessLookupError, ValueError):
            pass


def _environment(project: Path, **extra: str) -> dict[str, str]:
    environ = {key: value for key, value in os.environ.items() if not key.startswith(("RAGCUN_WARM", "OMP_WAIT_POLICY"))}
    return {**environ, warm.DIR_ENV: str(project / "warm"), **extra}


def _probe(project: Path, *arguments: str, **extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "stages.probe", *arguments], cwd=project, env=_environment(project, **extra),
                          capture_output=True, text=True, timeout=180)


def _wait_until_ready(project: Path) -> None:
    deadline = time.monotonic() + 150
    while not list((project / "warm").glob("*.ready")):
        assert time.monotonic() < deadline, "the warm server never finished preloading"
        time.sleep(0.2)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie has exited; only its parent has not collected it yet
    return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"


def test_a_warm_worker_is_the_stage_command_with_its_libraries_already_imported(project: Path) -> None:
    first = _probe(project, "show", DVC_EXP_NAME="a")
    assert first.returncode == 0, first.stderr
    _wait_until_ready(project)
    warm_run = _probe(project, "show", "x y", DVC_EXP_NAME="b")
    assert warm_run.returncode == 0, warm_run.stderr
    report = json.loads(warm_run.stdout)
    assert report["preloaded"] == ["numpy", "torch"]  # the worker had both before the stage imported anything
    assert report["cwd"] == str(project)
    assert report["argv"][1:] == ["show", "x y"]
    # a variable that differs between two stages of one run (DVC's own) reaches the stage, same server
    assert report["variable"] == "b"
    assert len(list((project / "warm").glob("*.sock"))) == 1
    # the project's code is imported fresh by each worker, never inherited from the server
    assert "ragcun.cli" not in report["project_modules"]
    # OpenMP reads its wait policy when torch is loaded, so the server (which loads it) must have the
    # passive policy every stage process gets, even when the command's own environment lacks it
    server = int(next((project / "warm").glob("*.pid")).read_text())
    assert "OMP_WAIT_POLICY=PASSIVE" in Path(f"/proc/{server}/environ").read_bytes().decode().split("\0")
    cold = _probe(project, "show", "x y", RAGCUN_WARM="0")
    assert json.loads(cold.stdout)["preloaded"] == []  # run in its own process: nothing imported ahead


def test_an_edited_module_runs_as_edited(project: Path) -> None:
    assert json.loads(_probe(project, "show").stdout)["helper"] == 1
    _wait_until_ready(project)
    (project / "stages" / "probe_helper.py").write_text("VERSION = 2\n")
    assert json.loads(_probe(project, "show").stdout)["helper"] == 2


def test_exit_status_and_streams_are_the_workers(project: Path) -> None:
    failed = _probe(project, "fail")
    assert failed.returncode == 3
    assert failed.stderr.strip() == "boom on stderr"
    assert failed.stdout == ""
    assert list((project / "warm").glob("*.sock")), "the stage should have gone through a warm server"


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_to_the_command_ends_the_worker(project: Path, tmp_path: Path, signum: int) -> None:
    _probe(project, "show")
    _wait_until_ready(project)
    pid_file = tmp_path / "worker.pid"
    command = subprocess.Popen([sys.executable, "-m", "stages.probe", "sleep", str(pid_file)], cwd=project,
                               env=_environment(project), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while not pid_file.exists() or not pid_file.read_text():
        assert time.monotonic() < deadline and command.poll() is None, "the worker never started"
        time.sleep(0.05)
    worker = int(pid_file.read_text())
    assert worker != command.pid
    command.send_signal(signum)
    assert command.wait(timeout=20) == -signum  # the command dies of the worker's signal, as a fresh process would
    deadline = time.monotonic() + 10
    while _alive(worker):
        assert time.monotonic() < deadline, "the worker outlived the command"
        time.sleep(0.05)


def test_a_killed_command_takes_its_worker_with_it(project: Path, tmp_path: Path) -> None:
    _probe(project, "show")
    _wait_until_ready(project)
    pid_file = tmp_path / "worker.pid"
    command = subprocess.Popen([sys.executable, "-m", "stages.probe", "sleep", str(pid_file)], cwd=project,
                               env=_environment(project), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while not pid_file.exists() or not pid_file.read_text():
        assert time.monotonic() < deadline, "the worker never started"
        time.sleep(0.05)
    worker = int(pid_file.read_text())
    command.kill()  # SIGKILL: no handler forwards it; the server sees the socket close
    command.wait(timeout=10)
    deadline = time.monotonic() + 10
    while _alive(worker):
        assert time.monotonic() < deadline, "the worker outlived the killed command"
        time.sleep(0.05)


def test_switched_off_no_server_is_started(project: Path) -> None:
    result = _probe(project, "show", RAGCUN_WARM="0")
    assert result.returncode == 0
    assert not (project / "warm").exists()


def test_an_idle_server_exits(project: Path) -> None:
    _probe(project, "show", RAGCUN_WARM_IDLE="1")
    _wait_until_ready(project)
    server = int(next((project / "warm").glob("*.pid")).read_text())
    deadline = time.monotonic() + 30
    while _alive(server):
        assert time.monotonic() < deadline, "an idle server should exit"
        time.sleep(0.2)


def test_the_server_key_follows_what_imports_read() -> None:
    base = {"HOME": "/root", "HF_HUB_OFFLINE": "1", "PWD": "/a"}
    assert warm.server_key(base) == warm.server_key({**base, "PWD": "/b", "DVC_EXP_NAME": "x", "RAGCUN_WARM_IDLE": "5"})
    assert warm.server_key(base) != warm.server_key({**base, "HF_HUB_OFFLINE": "0"})
    assert warm.server_key(base) != warm.server_key({**base, "CUDA_VISIBLE_DEVICES": "1"})
