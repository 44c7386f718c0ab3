"""Stage entry points: the timing log that benchmarks/pipeline.sh reads, and exit codes."""

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
    for _, started, ended, _ in rows:
        assert before - 1 <= float(started) <= float(ended) <= after
    assert float(rows[0][2]) <= float(rows[1][1]), "the second process started after the first ended"


def test_a_finished_stage_ends_without_teardown_but_with_every_output_and_log_line_flushed(tmp_path):
    (tmp_path / "params.yaml").write_text((REPOSITORY / "params.yaml").read_text())
    probe = tmp_path / "probe.py"
    # An atexit handler stands for the interpreter teardown that a finished stage skips.
    probe.write_text(
        "import atexit, sys\n"
        f"sys.path.insert(0, {str(REPOSITORY)!r})\n"
        "atexit.register(lambda: open('teardown-ran', 'w').close())\n"
        "import logging\n"
        "from ragcun.cli import stage_main\n"
        "def run(params):\n"
        "    logging.getLogger('ragcun.probe').warning('last words')\n"
        "    print('stdout line', end='')\n"
        "stage_main(run)\n"
    )
    result = subprocess.run([sys.executable, str(probe)], cwd=tmp_path, capture_output=True, text=True, timeout=120,
                            env={k: v for k, v in os.environ.items() if k not in ("WORLD_SIZE", "LOCAL_RANK")})
    assert result.returncode == 0
    assert result.stdout == "stdout line" and "last words" in result.stderr
    assert not (tmp_path / "teardown-ran").exists()
    # under a distributed launcher the normal exit (and its teardown) is kept
    result = subprocess.run([sys.executable, str(probe)], cwd=tmp_path, capture_output=True, text=True, timeout=120,
                            env=dict(os.environ, WORLD_SIZE="1"))
    assert result.returncode == 0 and (tmp_path / "teardown-ran").exists()
