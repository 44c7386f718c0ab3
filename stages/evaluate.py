"""DVC stage evaluate@ARCH: BEIR evaluation of one architecture on every dataset of evaluate.datasets."""

if __name__ == "__main__":
    from ragcun.warm import run_here_or_in_worker

    run_here_or_in_worker()  # in a warm worker, torch already imported (ragcun/warm.py)
    from ragcun.cli import stage_main
    from ragcun.steps.evaluate import run

    stage_main(run, architecture=True)
