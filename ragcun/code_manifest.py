"""Each stage's code dependency: the repository files its entry module imports, with their content hashes.

A stage's result depends on the code it runs, so DVC must rerun it when one of those files changes, and only
then. Listing every such file in dvc.yaml made 578 of the lock's 660 deps code files (31 for each of the 16
per-architecture stages), and DVC re-reads and rewrites the whole ``dvc.lock`` with ruamel's pure-Python
round-trip loader after every stage it runs: 1.2 s a stage on the project's 2-core machine at 3,622 lines, the
larger part of DVC's own time in a ``dvc exp run`` (issue 12, README "Performance"). Instead, the
``code-manifests`` stage (which depends on the ``ragcun`` and ``stages`` folders) writes one manifest per stage
module, ``code-manifests/<module>.json``: every file of that stage's import closure with its MD5. Each stage
depends on its manifest alone. An edit reruns ``code-manifests`` (~0.4 s of work), and a stage reruns
exactly when a file it imports changed, since only then do the bytes of its manifest change; the lists cannot
go stale, being computed from the imports at every run.

The closure is computed statically (an AST walk, no import side effects), including imports inside
functions, so the lazy imports the steps use to keep start-up fast count too. Hand-written (~60 lines)
because the standard library's modulefinder compiles and scans every module it reaches, third-party ones
included (torch's thousands), and knows nothing of package data.
"""

from __future__ import annotations

import ast
import hashlib
from pathlib import Path

from ragcun import paths
from ragcun.io import write_json

PACKAGES = ("ragcun", "stages")
STAGE_PACKAGE = "stages"
# The stage that writes the manifests: it depends on the whole ragcun and stages folders instead.
MANIFEST_STAGE_MODULE = "code_manifests"

# Files a stage imports that are deliberately not in its manifest: changing them cannot change what a stage
# computes.
NOT_DEPS = frozenset({
    # package markers: a docstring and constants only (tests/test_code_manifest.py checks they hold no code)
    "ragcun/__init__.py",
    "ragcun/data/__init__.py",
    "ragcun/report/__init__.py",
    "ragcun/steps/__init__.py",
    # plumbing every stage imports: argument parsing and the one-line error wording
    "ragcun/cli.py",
    "ragcun/errors.py",
    # how the stage's process starts (a warm fork or a fresh interpreter), never what it computes
    "ragcun/warm.py",
})


def module_file(module: str, root: Path) -> Path | None:
    """The file of a dotted module inside ``root``'s packages, or None for anything else (the standard
    library, third-party packages)."""
    if module.split(".")[0] not in PACKAGES:
        return None
    base = root.joinpath(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def imported_files(path: Path, root: Path) -> set[Path]:
    """The repository files one module imports, anywhere in its body. ``from pkg import name`` counts the
    submodule pkg/name.py when there is one, and every package on the way (its __init__ runs)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    # the package a relative import starts from (for a package's __init__, the package itself)
    package = path.relative_to(root).parent.parts
    found: set[Path] = set()

    def add(module: str) -> None:
        parts = module.split(".")
        for end in range(1, len(parts) + 1):
            target = module_file(".".join(parts[:end]), root)
            if target is not None:
                found.add(target)

    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                add(alias.name)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                anchor = list(package[: len(package) - (node.level - 1)])
                module = ".".join(anchor + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            add(module)
            for alias in node.names:
                add(f"{module}.{alias.name}")
    return found


def import_closure(entry: Path, root: Path, parsed: dict[Path, set[Path]] | None = None) -> set[str]:
    """Repository-relative POSIX paths of the modules ``entry`` imports, directly or not, and of the package
    data (*.json) beside any of them outside the stages folder, which those modules read (the sample's
    vocabulary.json). ``parsed`` (module -> its imported files) is filled and reused, so the closures of
    several stages parse each module once."""
    parsed = {} if parsed is None else parsed
    seen: set[Path] = set()
    todo = [entry]
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen.add(current)
        if current not in parsed:
            parsed[current] = imported_files(current, root)
        todo.extend(parsed[current] - seen)
    data = {json for path in seen if path.parent.name != STAGE_PACKAGE for json in path.parent.glob("*.json")}
    return {path.relative_to(root).as_posix() for path in seen | data}


def stage_code(entry: Path, root: Path, parsed: dict[Path, set[Path]] | None = None) -> list[str]:
    """The files a stage's result depends on: its import closure less NOT_DEPS, sorted."""
    return sorted(import_closure(entry, root, parsed) - NOT_DEPS)


def file_md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def manifest(entry: Path, root: Path, parsed: dict[Path, set[Path]] | None = None) -> dict[str, object]:
    """``{"entry": "stages/X.py", "files": {path: md5}}`` for one stage module."""
    return {
        "entry": entry.relative_to(root).as_posix(),
        "files": {name: file_md5(root / name) for name in stage_code(entry, root, parsed)},
    }


def stage_modules(root: Path) -> list[Path]:
    """Every stage entry module (stages/*.py) except the manifest stage's own."""
    return sorted(path for path in (root / STAGE_PACKAGE).glob("*.py")
                  if path.stem not in {MANIFEST_STAGE_MODULE, "__init__"})


def write_manifests(root: Path, folder: Path) -> list[Path]:
    """``folder/<module>.json`` for every stage module under ``root``; manifests of modules that no longer
    exist are removed. Each file is written atomically and with sorted keys, so its bytes (what DVC hashes)
    change exactly when a file of that stage's closure changes."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    parsed: dict[Path, set[Path]] = {}  # for this call only: the files may change between calls
    for entry in stage_modules(root):
        target = folder / f"{entry.stem}.json"
        write_json(target, manifest(entry, root, parsed))
        written.append(target)
    for stale in set(folder.glob("*.json")) - set(written):
        stale.unlink()
    return written


def run(params: object) -> None:
    """Write each stage's code dependency (the files it imports, with their MD5s) to code-manifests/<module>.json."""
    write_manifests(Path.cwd(), paths.CODE_MANIFESTS)
