"""DVC stage export@ARCH: the architecture as a sentence-transformers model folder (exports/ARCH)."""

from ragcun.cli import stage_main
from ragcun.steps.export import run

if __name__ == "__main__":
    stage_main(run, architecture=True)
