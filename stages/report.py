"""DVC stage report: Comparison table (Markdown, CSV, LaTeX) and figures from every architecture's metrics."""

from ragcun.cli import stage_main
from ragcun.steps.report import run

if __name__ == "__main__":
    stage_main(run)
