"""What every stage entry point shares: argument parsing, params loading, logging, and turning user errors
into one line and an exit code."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ragcun.errors import RagcunError

# Stage entry points import this module before torch. OpenMP's default busy-waiting makes a 2-thread torch
# process 12x slower when another process wants the same cores (a queued experiment, an evaluation in parallel);
# passive waiting keeps 2 threads ~1.6x faster than 1 when alone and no slower than 1 when the cores are shared
# (measured on the project's 2-core machine: benchmarks/threads.py). A user's own setting wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def run_stage(main: Callable[[], None]) -> None:
    """Run a stage; a RagcunError becomes `error: <message>` on stderr and its exit code, with no traceback."""
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    # beir logs every metric at INFO for each call (also for each epoch's dev check): keep its warnings only.
    for noisy in ("beir", "root"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        main()
    except RagcunError as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(error.exit_code)
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        sys.exit(130)


def stage_main(function: Callable[..., Any], *, architecture: bool = False, argv: list[str] | None = None) -> None:
    """`python stages/<stage>.py [ARCH] [--params FILE]`: validate the params, then run the stage."""
    from ragcun.config import load_params

    parser = argparse.ArgumentParser(description=(function.__doc__ or "").strip().splitlines()[0] if function.__doc__ else None)
    if architecture:
        parser.add_argument("architecture", help="a name under `architectures:` in params.yaml")
    parser.add_argument("--params", type=Path, default=Path("params.yaml"), help="params file (default: params.yaml)")
    arguments = parser.parse_args(argv)

    def main() -> None:
        params = load_params(arguments.params)
        if architecture:
            params.architecture(arguments.architecture)  # an unknown name fails here, before any work
            function(params, arguments.architecture)
        else:
            function(params)

    run_stage(main)
