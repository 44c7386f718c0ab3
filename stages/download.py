"""DVC stage download: Build the embedded sample, or download MS MARCO and the BEIR evaluation sets."""

from ragcun.cli import stage_main
from ragcun.steps.download import run

if __name__ == "__main__":
    stage_main(run)
