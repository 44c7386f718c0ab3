"""DVC stage isotropy@ARCH: Isotropy measures of one architecture's evaluation embeddings."""

from ragcun.cli import stage_main
from ragcun.pipeline import run_isotropy

if __name__ == "__main__":
    stage_main(run_isotropy, architecture=True)
