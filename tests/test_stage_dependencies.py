"""Every stage's code deps in dvc.yaml are exactly the ragcun/ and stages/ files its entry module imports.

A hand-kept list goes stale silently: a file a stage imports but does not depend on lets an edit to it leave
the stage's outputs unchanged. The import closure is computed statically (an AST walk, no import side effects),
including imports inside functions, so the lazy imports the steps use to keep start-up fast count too.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from project_helpers import ROOT, expanded_stages

PACKAGES = ("ragcun", "stages")

# Files a stage imports that are deliberately not deps: changing them cannot change what a stage computes.
NOT_DEPS = {
    # package markers: a docstring and constants only (a test below checks they hold no code)
    "ragcun/__init__.py",
    "ragcun/data/__init__.py",
    "ragcun/report/__init__.py",
    "ragcun/steps/__init__.py",
    # plumbing every stage imports: argument parsing and the one-line error wording
    "ragcun/cli.py",
    "ragcun/errors.py",
    # how the stage's process starts (a warm fork or a fresh interpreter), never what it computes
    "ragcun/warm.py",
}


def module_file(module: str) -> Path | None:
    """The file of a dotted module inside this repository's packages, or None for anything else."""
    if module.split(".")[0] not in PACKAGES:
        return None
    base = ROOT.joinpath(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def package_of(path: Path) -> str:
    """The package a relative import in ``path`` starts from (for a package's __init__, the package itself)."""
    return ".".join(path.relative_to(ROOT).parent.parts)


def imported_files(path: Path) -> set[Path]:
    """The repository files one module imports, anywhere in its body. `from pkg import name` counts the
    submodule pkg/name.py when there is one, and the package pkg itself (its __init__ runs)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = package_of(path)
    found: set[Path] = set()

    def add(module: str) -> None:
        # importing a.b.c runs a/__init__.py and a/b/__init__.py too
        parts = module.split(".")
        for end in range(1, len(parts) + 1):
            target = module_file(".".join(parts[:end]))
            if target is not None:
                found.add(target)

    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                add(alias.name)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)] if node.level > 1 else anchor
                module = ".".join(anchor + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            add(module)
            for alias in node.names:
                add(f"{module}.{alias.name}")
    return found


def import_closure(entry: Path) -> set[str]:
    """The modules ``entry`` imports, directly or not, and the package data (*.json) beside any of them,
    which those modules read (the sample's vocabulary.json)."""
    seen: set[Path] = set()
    todo = [entry]
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen.add(current)
        todo.extend(imported_files(current) - seen)
    data = {json for path in seen for json in path.parent.glob("*.json") if path.parts[-2] != "stages"}
    return {path.relative_to(ROOT).as_posix() for path in seen | data}


def code_files(dep: str) -> set[str]:
    """The code and package-data files a dep names inside the packages: a folder dep stands for every such
    file under it."""
    if dep.split("/")[0] not in PACKAGES:
        return set()
    path = ROOT / dep
    if path.is_dir():
        return {
            p.relative_to(ROOT).as_posix()
            for pattern in ("*.py", "*.json")
            for p in path.rglob(pattern)
            if "__pycache__" not in p.parts
        }
    return {dep}


STAGES = expanded_stages()


@pytest.mark.parametrize("stage", sorted(STAGES))
def test_code_deps_are_exactly_the_import_closure(stage: str) -> None:
    definition = STAGES[stage]
    entry = definition["cmd"].split()[2]  # python -m stages.X ...
    assert definition["cmd"].startswith("python -m stages."), definition["cmd"]
    wanted = import_closure(ROOT.joinpath(*entry.split(".")).with_suffix(".py")) - NOT_DEPS
    listed: set[str] = set()
    for dep in definition.get("deps", []):
        listed |= code_files(dep)
    missing, surplus = sorted(wanted - listed), sorted(listed - wanted)
    assert not missing and not surplus, f"{stage}: missing deps {missing}, surplus deps {surplus}"


def test_the_excluded_package_markers_hold_no_code() -> None:
    for name in NOT_DEPS:
        if name.endswith("__init__.py"):
            body = ast.parse((ROOT / name).read_text(encoding="utf-8")).body
            # a docstring and constants such as __version__: nothing a stage's result could depend on
            statements = [
                node for node in body if not (isinstance(node, (ast.Expr, ast.Assign)) and isinstance(node.value, ast.Constant))
            ]
            assert not statements, f"{name} holds code: list it in the stages' deps instead of excluding it"


def test_the_closure_follows_function_level_and_relative_imports() -> None:
    # the walk itself, on the real tree: a lazy import inside run() and the losses package's relative imports
    closure = import_closure(ROOT / "stages" / "train.py")
    assert "ragcun/steps/train.py" in closure
    assert "ragcun/losses/isotropy.py" in closure
