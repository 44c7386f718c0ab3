"""DVC stage embed: Base-model embeddings of every text the frozen-base stages need, computed once."""

from ragcun.cli import stage_main
from ragcun.steps.embed import run

if __name__ == "__main__":
    stage_main(run)
