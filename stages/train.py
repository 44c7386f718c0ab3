"""DVC stage train@ARCH: Train one architecture and keep its best epoch by dev MRR@10."""

from ragcun.cli import stage_main
from ragcun.steps.train import run

if __name__ == "__main__":
    stage_main(run, architecture=True)
