"""DVC stage embed-train: base-model embeddings of every document and query of the training collection."""

if __name__ == "__main__":
    from ragcun.warm import run_here_or_in_worker

    run_here_or_in_worker()  # in a warm worker, torch already imported (ragcun/warm.py)
    from ragcun.cli import stage_main
    from ragcun.steps.embed import run_train

    stage_main(run_train)
