"""DVC stage configure: Validate params.yaml and write each architecture's effective settings to configs/<arch>.json."""

from ragcun.cli import stage_main
from ragcun.pipeline import run_configure

if __name__ == "__main__":
    stage_main(run_configure)
