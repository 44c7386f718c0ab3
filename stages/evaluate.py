"""DVC stage evaluate@ARCH: BEIR evaluation of one architecture on every dataset of evaluate.datasets."""

from ragcun.cli import stage_main
from ragcun.steps.evaluate import run

if __name__ == "__main__":
    stage_main(run, architecture=True)
