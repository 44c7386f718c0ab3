"""DVC stage configure: Validate params.yaml and write each architecture's effective settings to configs/<arch>.json."""

from ragcun.cli import stage_main
from ragcun.steps.configure import run

if __name__ == "__main__":
    stage_main(run)
