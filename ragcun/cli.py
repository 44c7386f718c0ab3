"""What every stage entry point shares: argument parsing, params loading, logging, and turning user errors
into one line and an exit code."""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ragcun.errors import RagcunError
from ragcun.warm import STARTED_ENV

# Importing ragcun.warm (above) sets OpenMP's passive waiting before torch is imported; see there.

# With this set to an absolute file path, every stage appends `stage<TAB>start<TAB>end<TAB>exit code<TAB>work`
# (Unix seconds; work in seconds) to it: benchmarks/pipeline.sh uses it to split a `dvc exp run` into the stages'
# work, their start-up and DVC's own time. The start is when the stage command's entry point began (in a warm
# worker: when the command that handed it over began, ragcun/warm.py); the interpreter's own start-up, ~30 ms,
# is left out. Work is the time spent in the stage's function (reading inputs, computing, writing outputs), the
# rest of the span is start-up: imports, params validation, the hand-over. A log that cannot be written costs a
# warning, never the stage's own result.
STAGE_TIMES_ENV = "RAGCUN_STAGE_TIMES"
_ENTRY_STARTED = float(os.environ.get(STARTED_ENV) or time.time())
_work_seconds = 0.0


def _record_stage_time(log_path: str, stage: str, exit_code: int) -> None:
    try:
        with open(log_path, "a", encoding="utf-8") as handle:
            handle.write(f"{stage}\t{_ENTRY_STARTED:.3f}\t{time.time():.3f}\t{exit_code}\t{_work_seconds:.3f}\n")
    except OSError as error:
        print(f"warning: {STAGE_TIMES_ENV}: cannot append to {log_path} ({error.strerror})", file=sys.stderr)


def run_stage(main: Callable[[], None], stage: str = "stage") -> None:
    """Run a stage; a RagcunError becomes `error: <message>` on stderr and its exit code, with no traceback."""
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    # beir logs every metric at INFO for each call (also for each epoch's dev check): keep its warnings only.
    for noisy in ("beir", "root"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    # getLogger("root") is the root logger itself, so the line above also hid ragcun's own INFO messages (the
    # training duration, the per-process shares of data-parallel training): keep those.
    logging.getLogger("ragcun").setLevel(logging.INFO)
    exit_code = 1  # an unexpected exception propagates with its traceback and Python's exit code 1
    try:
        main()
        exit_code = 0
    except RagcunError as error:
        print(f"error: {error}", file=sys.stderr)
        exit_code = error.exit_code
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        exit_code = 130
    except SystemExit as exiting:
        exit_code = exiting.code if isinstance(exiting.code, int) else (0 if exiting.code is None else 1)
        raise
    finally:
        if log_path := os.environ.get(STAGE_TIMES_ENV):
            _record_stage_time(log_path, stage, exit_code)
    if exit_code:
        sys.exit(exit_code)


def end_finished_process() -> None:
    """End a stage process whose outputs are all written and closed, skipping the interpreter's teardown.

    Tearing down torch, DVCLive and friends at exit (module finalisers, torch's operator-library destructors)
    takes 0.25-0.7 s per process, about 7 s of a 20-stage `dvc exp run` on the 2-core machine, for nothing: every
    output is written atomically and closed before this point. Under a distributed launcher (WORLD_SIZE or
    LOCAL_RANK set) the normal exit is kept so that process groups shut down in order.
    """
    if "WORLD_SIZE" in os.environ or "LOCAL_RANK" in os.environ:
        return
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def stage_main(
    function: Callable[..., Any], *, architecture: bool = False, dataset: bool = False, argv: list[str] | None = None
) -> None:
    """`python -m stages.<stage> [ARCH | DATASET] [--params FILE]`: validate the params, run the stage, end the
    process.

    Called with ``argv`` (from Python, not as a stage command) it returns after a successful run instead of ending
    the process.
    """
    from ragcun.config import load_params

    parser = argparse.ArgumentParser(description=(function.__doc__ or "").strip().splitlines()[0] if function.__doc__ else None)
    if architecture:
        parser.add_argument("target", metavar="architecture", help="a name under `architectures:` in params.yaml")
    elif dataset:
        parser.add_argument("target", metavar="dataset", help="a name in `evaluate.datasets` of params.yaml")
    parser.add_argument("--params", type=Path, default=Path("params.yaml"), help="params file (default: params.yaml)")
    arguments = parser.parse_args(argv)
    target: str | None = getattr(arguments, "target", None)

    def main() -> None:
        global _work_seconds
        params = load_params(arguments.params)
        if architecture:
            params.architecture(target)  # an unknown name fails here, before any work
        began = time.perf_counter()
        try:
            if target is None:
                function(params)
            else:
                function(params, target)
        finally:
            _work_seconds = time.perf_counter() - began

    stage = Path(sys.argv[0]).stem.replace("_", "-") + (f"@{target}" if target is not None else "")
    run_stage(main, stage)  # a failed stage exits here, through the normal interpreter exit
    if argv is None:
        end_finished_process()
