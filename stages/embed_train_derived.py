"""DVC stage embed-train-derived: base-model embeddings of the masked copies or halves of training documents."""

from ragcun.cli import stage_main
from ragcun.steps.embed import run_train_derived

if __name__ == "__main__":
    stage_main(run_train_derived)
