"""DVC stage report: Comparison table (Markdown, CSV, LaTeX) and figures from every architecture's metrics."""

if __name__ == "__main__":
    from ragcun.warm import run_here_or_in_worker

    run_here_or_in_worker()  # in a warm worker, torch already imported (ragcun/warm.py)
    from ragcun.cli import stage_main
    from ragcun.steps.report import run

    stage_main(run)
