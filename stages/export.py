"""DVC stage export@ARCH: the architecture as a sentence-transformers model folder (exports/ARCH)."""

if __name__ == "__main__":
    from ragcun.warm import run_here_or_in_worker

    run_here_or_in_worker()  # in a warm worker, torch already imported (ragcun/warm.py)
    from ragcun.cli import stage_main
    from ragcun.steps.export import run

    stage_main(run, architecture=True)
