"""DVC stage mine: BM25 hard negatives (plus random ones) for every training query; BM25 candidates for dev queries."""

from ragcun.cli import stage_main
from ragcun.steps.mine import run

if __name__ == "__main__":
    stage_main(run)
