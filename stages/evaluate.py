"""DVC stage evaluate@ARCH: BEIR evaluation of one architecture on every dataset of evaluate.datasets."""

from ragcun.cli import stage_main
from ragcun.pipeline import run_evaluate

if __name__ == "__main__":
    stage_main(run_evaluate, architecture=True)
