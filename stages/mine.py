"""DVC stage mine: BM25 hard negatives (plus random ones) for every training query; BM25 candidates for dev queries."""

if __name__ == "__main__":
    from ragcun.warm import run_here_or_in_worker

    run_here_or_in_worker()  # in a warm worker, torch already imported (ragcun/warm.py)
    from ragcun.cli import stage_main
    from ragcun.steps.mine import run

    stage_main(run)
