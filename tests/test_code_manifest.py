"""Each stage's code dependency (ragcun/code_manifest.py): the manifest lists exactly the files its entry module
imports, its bytes change exactly when one of them changes, and dvc.yaml makes every stage depend on its own
manifest and on no code file directly."""

from __future__ import annotations

import ast
import hashlib
import textwrap
from pathlib import Path

import pytest

from project_helpers import ROOT, expanded_stages
from ragcun import paths
from ragcun.code_manifest import (
    MANIFEST_STAGE_MODULE,
    NOT_DEPS,
    import_closure,
    manifest,
    stage_code,
    stage_modules,
    write_manifests,
)


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A small ragcun/stages tree with each kind of import the real stages use."""
    write(tmp_path, {
        "stages/alpha.py": """
            from ragcun.cli import stage_main        # plumbing: imported, never a dep

            def main():
                from ragcun.steps.alpha import run   # a lazy, function-level import
                stage_main(run)
            """,
        "stages/beta.py": "import ragcun.other\n",
        "stages/code_manifests.py": "from ragcun.code_manifest import run\n",
        "ragcun/__init__.py": '"""marker"""\n',
        "ragcun/cli.py": "import os\n",
        "ragcun/code_manifest.py": "import ast\n",
        "ragcun/steps/__init__.py": '"""marker"""\n',
        "ragcun/steps/alpha.py": """
            import numpy                             # third-party: not the repository's
            from . import common                     # relative, level 1: a submodule
            from ..util import helper                # relative, level 2: a name from a module
            """,
        "ragcun/steps/common.py": "X = 1\n",
        "ragcun/util.py": """
            from ragcun.data import sample           # a package whose folder holds package data

            def helper():
                return sample
            """,
        "ragcun/data/__init__.py": '"""marker"""\n',
        "ragcun/data/sample/__init__.py": "import json\n",
        "ragcun/data/sample/vocabulary.json": "{}\n",
        "ragcun/other.py": "Y = 2\n",
        "ragcun/unused.py": "Z = 3\n",
    })
    return tmp_path


def test_the_closure_follows_every_import_form_and_leaves_out_plumbing_and_markers(tree: Path) -> None:
    assert import_closure(tree / "stages/alpha.py", tree) == {
        "stages/alpha.py", "ragcun/__init__.py", "ragcun/cli.py", "ragcun/steps/__init__.py", "ragcun/steps/alpha.py",
        "ragcun/steps/common.py", "ragcun/util.py", "ragcun/data/__init__.py", "ragcun/data/sample/__init__.py",
        "ragcun/data/sample/vocabulary.json",
    }
    assert stage_code(tree / "stages/alpha.py", tree) == [
        "ragcun/data/sample/__init__.py", "ragcun/data/sample/vocabulary.json", "ragcun/steps/alpha.py",
        "ragcun/steps/common.py", "ragcun/util.py", "stages/alpha.py",
    ]


def test_a_manifest_holds_each_file_md5(tree: Path) -> None:
    found = manifest(tree / "stages/beta.py", tree)
    assert found["entry"] == "stages/beta.py"
    assert found["files"] == {
        name: hashlib.md5((tree / name).read_bytes()).hexdigest() for name in ("ragcun/other.py", "stages/beta.py")
    }


def manifest_bytes(folder: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(folder.glob("*.json"))}


def test_a_manifest_changes_exactly_when_a_file_of_its_stage_changes(tree: Path) -> None:
    folder = tree / "code-manifests"
    write_manifests(tree, folder)
    first = manifest_bytes(folder)
    assert set(first) == {"alpha.json", "beta.json"}  # the manifest stage's own module gets none

    (tree / "ragcun/unused.py").write_text("Z = 4\n", encoding="utf-8")  # in no closure
    (tree / "ragcun/cli.py").write_text("import sys\n", encoding="utf-8")  # plumbing alpha imports
    write_manifests(tree, folder)
    assert manifest_bytes(folder) == first

    (tree / "ragcun/steps/common.py").write_text("X = 2\n", encoding="utf-8")  # alpha's, not beta's
    write_manifests(tree, folder)
    second = manifest_bytes(folder)
    assert second["alpha.json"] != first["alpha.json"]
    assert second["beta.json"] == first["beta.json"]

    (tree / "ragcun/data/sample/vocabulary.json").write_text('{"a": 1}\n', encoding="utf-8")  # package data
    write_manifests(tree, folder)
    assert manifest_bytes(folder)["alpha.json"] != second["alpha.json"]


def test_the_manifest_of_a_removed_stage_module_is_removed(tree: Path) -> None:
    folder = tree / "code-manifests"
    write_manifests(tree, folder)
    (tree / "stages/beta.py").unlink()
    assert write_manifests(tree, folder) == [folder / "alpha.json"]
    assert set(manifest_bytes(folder)) == {"alpha.json"}


# ---- the real tree and the committed dvc.yaml --------------------------------------------------------------

STAGES = expanded_stages()


def test_the_closure_of_a_real_stage_follows_its_lazy_and_relative_imports() -> None:
    closure = import_closure(ROOT / "stages" / "train.py", ROOT)
    assert "ragcun/steps/train.py" in closure  # imported inside a function
    assert "ragcun/losses/isotropy.py" in closure  # through the losses package's relative imports
    assert "ragcun/data/sample/vocabulary.json" in stage_code(ROOT / "stages" / "download.py", ROOT)


def test_the_excluded_package_markers_hold_no_code() -> None:
    for name in NOT_DEPS:
        if name.endswith("__init__.py"):
            body = ast.parse((ROOT / name).read_text(encoding="utf-8")).body
            # a docstring and constants such as __version__: nothing a stage's result could depend on
            statements = [
                node for node in body if not (isinstance(node, (ast.Expr, ast.Assign)) and isinstance(node.value, ast.Constant))
            ]
            assert not statements, f"{name} holds code: remove it from NOT_DEPS"


def entry_module(stage: dict) -> str:
    command = stage["cmd"].split()
    assert command[:2] == ["python", "-m"] and command[2].startswith("stages."), stage["cmd"]
    return command[2].removeprefix("stages.")


@pytest.mark.parametrize("name", sorted(STAGES))
def test_each_stage_takes_its_code_from_its_own_manifest_only(name: str) -> None:
    stage = STAGES[name]
    module = entry_module(stage)
    deps = stage.get("deps", [])
    if module == MANIFEST_STAGE_MODULE:
        assert sorted(deps) == ["ragcun", "stages"]
        assert [next(iter(out)) if isinstance(out, dict) else out for out in stage["outs"]] == [paths.CODE_MANIFESTS.as_posix()]
        return
    assert paths.code_manifest(module).as_posix() in deps, f"{name}: no dep on its code manifest"
    code = [dep for dep in deps if dep.split("/")[0] in ("ragcun", "stages") or dep.startswith(paths.CODE_MANIFESTS.as_posix())]
    assert code == [paths.code_manifest(module).as_posix()], f"{name}: code deps other than its manifest: {code}"


def test_every_stage_module_has_a_stage_and_every_manifest_a_reader() -> None:
    run_modules = {entry_module(stage) for stage in STAGES.values()}
    assert run_modules == {path.stem for path in stage_modules(ROOT)} | {MANIFEST_STAGE_MODULE}
