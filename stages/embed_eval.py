"""DVC stage embed-eval@DATASET: base-model embeddings of one evaluation dataset's queries and corpus."""

if __name__ == "__main__":
    from ragcun.warm import run_here_or_in_worker

    run_here_or_in_worker()  # in a warm worker, torch already imported (ragcun/warm.py)
    from ragcun.cli import stage_main
    from ragcun.steps.embed import run_eval

    stage_main(run_eval, dataset=True)
