"""DVC stage isotropy@ARCH: Isotropy measures of one architecture's evaluation embeddings."""

if __name__ == "__main__":
    from ragcun.warm import run_here_or_in_worker

    run_here_or_in_worker()  # in a warm worker, torch already imported (ragcun/warm.py)
    from ragcun.cli import stage_main
    from ragcun.steps.isotropy import run

    stage_main(run, architecture=True)
