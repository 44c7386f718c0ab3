"""DVC stage embed-train-derived: base-model embeddings of the masked copies or halves of training documents."""

if __name__ == "__main__":
    from ragcun.warm import run_here_or_in_worker

    run_here_or_in_worker()  # in a warm worker, torch already imported (ragcun/warm.py)
    from ragcun.cli import stage_main
    from ragcun.steps.embed import run_train_derived

    stage_main(run_train_derived)
