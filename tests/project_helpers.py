"""Helpers the test modules share (a plain module: conftest.py is not importable by name)."""

from __future__ import annotations

from pathlib import Path

import yaml


def set_params(path: Path, **changes: object) -> None:
    """Change settings of a params file; `section__key=value` sets a key inside a section."""
    params = yaml.safe_load(path.read_text(encoding="utf-8"))
    for key, value in changes.items():
        section, _, field = key.partition("__")
        if field:
            params.setdefault(section, {})[field] = value
        else:
            params[key] = value
    path.write_text(yaml.safe_dump(params), encoding="utf-8")
