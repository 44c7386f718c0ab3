"""DVC stage embed-eval@DATASET: base-model embeddings of one evaluation dataset's queries and corpus."""

from ragcun.cli import stage_main
from ragcun.steps.embed import run_eval

if __name__ == "__main__":
    stage_main(run_eval, dataset=True)
