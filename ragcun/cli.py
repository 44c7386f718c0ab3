"""What every stage entry point shares: logging set-up and turning user errors into one line and an exit code."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable

from ragcun.errors import RagcunError


def run_stage(main: Callable[[], None]) -> None:
    """Run a stage; a RagcunError becomes `error: <message>` on stderr and its exit code, with no traceback."""
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        main()
    except RagcunError as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(error.exit_code)
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        sys.exit(130)
