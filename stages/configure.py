"""DVC stage configure: Validate params.yaml and write each architecture's effective settings to configs/<arch>.json."""

if __name__ == "__main__":
    from ragcun.warm import run_here_or_in_worker

    run_here_or_in_worker()  # in a warm worker, torch already imported (ragcun/warm.py)
    from ragcun.cli import stage_main
    from ragcun.steps.configure import run

    stage_main(run)
