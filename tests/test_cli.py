"""Stage entry points: the timing log that benchmarks/pipeline.sh reads (span and work), and exit codes."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import yaml

from ragcun.cli import STAGE_TIMES_ENV

REPOSITORY = Path(__file__).resolve().parents[1]


def run_configure(folder: Path, log: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(REPOSITORY / "stages" / "configure.py")],
        cwd=folder, capture_output=True, text=True, timeout=120, env=dict(os.environ, **{STAGE_TIMES_ENV: str(log)}),
    )


def test_each_stage_run_appends_its_name_process_span_and_exit_code(tmp_path):
    params = yaml.safe_load((REPOSITORY / "params.yaml").read_text())
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    log = tmp_path / "times.tsv"
    before = time.time()
    assert run_configure(tmp_path, log).returncode == 0
    params["train"]["batch_size"] = 0
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    assert run_configure(tmp_path, log).returncode == 2
    after = time.time()
    rows = [line.split("\t") for line in log.read_text().splitlines()]
    assert [(row[0], row[3]) for row in rows] == [("configure", "0"), ("configure", "2")]
    for _, started, ended, _, work in rows:
        assert before - 1 <= float(started) <= float(ended) <= after
        assert 0.0 <= float(work) <= float(ended) - float(started)
    assert float(rows[0][4]) > 0.0, "configure's work (writing the settings files) was timed"
    assert float(rows[1][4]) == 0.0, "a params file that fails validation does no work"
    assert float(rows[0][2]) <= float(rows[1][1]), "the second process started after the first ended"


PROBE = (
    "import atexit, logging, logging.handlers, sys\n"
    f"sys.path.insert(0, {str(REPOSITORY)!r})\n"
    # An atexit handler stands for the interpreter teardown that a finished stage skips.
    "atexit.register(lambda: open('teardown-ran', 'w').close())\n"
    # A buffering handler loses its records unless logging is shut down before the process ends.
    "buffered = logging.handlers.MemoryHandler(capacity=100, target=logging.FileHandler('log.txt'))\n"
    "logging.getLogger('ragcun.probe').addHandler(buffered)\n"
    "from ragcun.cli import stage_main\n"
    "def run(params):\n"
    "    logging.getLogger('ragcun.probe').warning('last words')\n"
    "    print('stdout line', end='')\n"
    "stage_main(run, argv=ARGV)\n"
    "print(' and after')\n"
)


def run_probe(folder: Path, argv: str, **environment: str) -> subprocess.CompletedProcess:
    (folder / "probe.py").write_text(PROBE.replace("ARGV", argv))
    env = {k: v for k, v in os.environ.items() if k not in ("WORLD_SIZE", "LOCAL_RANK", STAGE_TIMES_ENV)}
    return subprocess.run([sys.executable, "probe.py"], cwd=folder, capture_output=True, text=True, timeout=120,
                          env=dict(env, **environment))


def test_a_finished_stage_ends_without_teardown_with_its_output_and_log_records_flushed(tmp_path):
    (tmp_path / "params.yaml").write_text((REPOSITORY / "params.yaml").read_text())
    result = run_probe(tmp_path, "None")
    assert result.returncode == 0
    assert result.stdout == "stdout line", "the process ended right after the stage"
    assert "last words" in (tmp_path / "log.txt").read_text()
    assert not (tmp_path / "teardown-ran").exists()


def test_stage_main_called_from_python_or_under_a_distributed_launcher_returns_normally(tmp_path):
    (tmp_path / "params.yaml").write_text((REPOSITORY / "params.yaml").read_text())
    result = run_probe(tmp_path, "[]")
    assert result.returncode == 0 and result.stdout == "stdout line and after\n"
    assert (tmp_path / "teardown-ran").exists()
    (tmp_path / "teardown-ran").unlink()
    result = run_probe(tmp_path, "None", WORLD_SIZE="1")
    assert result.returncode == 0 and (tmp_path / "teardown-ran").exists()


def test_an_unwritable_timing_log_costs_a_warning_not_the_stage(tmp_path):
    (tmp_path / "params.yaml").write_text((REPOSITORY / "params.yaml").read_text())
    result = run_configure(tmp_path, tmp_path / "no-such-folder" / "times.tsv")
    assert result.returncode == 0
    assert "warning: RAGCUN_STAGE_TIMES: cannot append to" in result.stderr and "Traceback" not in result.stderr
    assert (tmp_path / "configs").is_dir()
