"""DVC stage code-manifests: Write each stage's code dependency (the files it imports, with their MD5s) to code-manifests/<module>.json."""

if __name__ == "__main__":
    # No warm hand-over (ragcun/warm.py): this stage imports neither torch nor any other heavy library.
    from ragcun.cli import stage_main
    from ragcun.code_manifest import run

    stage_main(run)
