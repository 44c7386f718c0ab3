"""Helpers the test modules share (a plain module: conftest.py is not importable by name)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]


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


def foreach_items(items: Any, params: dict[str, Any]) -> dict[str, Any]:
    """A foreach's items as DVC iterates them, key -> item: a ${section.key} reference is looked up in params; a
    list's key is the item itself, a mapping's key is its key (DVC's ${key})."""
    if isinstance(items, str):  # ${evaluate.datasets} or ${architectures}
        value: Any = params
        for key in items.strip("${}").split("."):
            value = value[key]
        items = value
    return dict(items) if isinstance(items, dict) else {item: item for item in items}


def substitute(value: Any, key: str, item: Any) -> Any:
    """A stage definition with ${key} and (string) ${item} filled in, as DVC's foreach does."""
    if isinstance(value, str):
        value = value.replace("${key}", str(key))
        return value.replace("${item}", str(item)) if isinstance(item, (str, int)) else value
    if isinstance(value, list):
        return [substitute(entry, key, item) for entry in value]
    if isinstance(value, dict):
        return {substitute(name, key, item): substitute(entry, key, item) for name, entry in value.items()}
    return value


def expanded_stages(root: Path = ROOT) -> dict[str, dict[str, Any]]:
    """dvc.yaml's stages with foreach expanded against params.yaml, one entry per NAME@ITEM with its paths
    filled in."""
    document = yaml.safe_load((root / "dvc.yaml").read_text(encoding="utf-8"))
    params = yaml.safe_load((root / "params.yaml").read_text(encoding="utf-8"))
    stages: dict[str, dict[str, Any]] = {}
    for name, stage in document["stages"].items():
        if "foreach" in stage:
            for key, item in foreach_items(stage["foreach"], params).items():
                stages[f"{name}@{key}"] = substitute(stage["do"], key, item)
        elif "matrix" in stage:
            raise AssertionError(f"stage {name}: matrix stages are not expanded by these tests yet")
        else:
            stages[name] = stage
    return stages
