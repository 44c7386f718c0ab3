"""The configure stage: validate params.yaml and write each architecture's effective settings."""

from __future__ import annotations

from ragcun import paths
from ragcun.config import Params
from ragcun.io import write_json


def run(params: Params) -> None:
    """configs/<arch>.json for every architecture (see config.training_view); stale files are removed."""
    from ragcun.config import training_view

    paths.CONFIGS.mkdir(parents=True, exist_ok=True)
    wanted = {paths.architecture_config(name) for name in params.architectures}
    for stale in set(paths.CONFIGS.glob("*.json")) - wanted:
        stale.unlink()
    for name in params.architectures:
        write_json(paths.architecture_config(name), training_view(params, name))
