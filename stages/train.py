"""DVC stage train@ARCH: Train one architecture and keep its best epoch by dev MRR@10."""

if __name__ == "__main__":
    from ragcun.warm import run_here_or_in_worker

    run_here_or_in_worker()  # in a warm worker, torch already imported (ragcun/warm.py)
    from ragcun.cli import stage_main
    from ragcun.steps.train import run

    stage_main(run, architecture=True)
