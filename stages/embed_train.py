"""DVC stage embed-train: base-model embeddings of every document and query of the training collection."""

from ragcun.cli import stage_main
from ragcun.steps.embed import run_train

if __name__ == "__main__":
    stage_main(run_train)
