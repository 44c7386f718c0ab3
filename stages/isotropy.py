"""DVC stage isotropy@ARCH: Isotropy measures of one architecture's evaluation embeddings."""

from ragcun.cli import stage_main
from ragcun.steps.isotropy import run

if __name__ == "__main__":
    stage_main(run, architecture=True)
