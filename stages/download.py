"""DVC stage download: Build the embedded sample, or download MS MARCO and the BEIR evaluation sets."""

if __name__ == "__main__":
    from ragcun.warm import run_here_or_in_worker

    run_here_or_in_worker()  # in a warm worker, torch already imported (ragcun/warm.py)
    from ragcun.cli import stage_main
    from ragcun.steps.download import run

    stage_main(run)
