"""The wheel carries the sample's vocabulary: without it `data.source: sample` fails on an installed package."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPOSITORY = Path(__file__).resolve().parents[1]


def test_the_wheel_ships_the_sample_vocabulary(tmp_path: Path) -> None:
    pytest.importorskip("setuptools")
    # A fresh copy of the sources: a build/ folder left in the checkout would carry a stale copy of the data.
    source = tmp_path / "source"
    shutil.copytree(REPOSITORY / "ragcun", source / "ragcun", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPOSITORY / name, source / name)
    # offline: no build isolation (the installed setuptools), no dependencies
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(tmp_path), str(source)],
        check=True,
        capture_output=True,
        cwd=tmp_path,
    )
    (wheel,) = tmp_path.glob("ragcun-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        assert "ragcun/data/sample/vocabulary.json" in names
        assert "ragcun/data/sample/vocabulary.py" in names
        shipped = archive.read("ragcun/data/sample/vocabulary.json")
    assert shipped == (REPOSITORY / "ragcun" / "data" / "sample" / "vocabulary.json").read_bytes()
