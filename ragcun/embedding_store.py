"""The frozen-base cache: base-model embeddings of texts, stored once and looked up by key.

A table is a folder with `vectors.npy` (float32 [n, d], memory-mapped on load, never pickled), `ids.json`
(the key of each row) and `meta.json` (which model and settings produced it), so a table computed for another
base model is refused instead of silently mixed in.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ragcun.errors import DataError
from ragcun.io import atomic_path, read_json


@dataclass
class EmbeddingTable:
    ids: list[str]
    vectors: np.ndarray
    meta: dict[str, Any]

    def __post_init__(self) -> None:
        if len(self.ids) != len(self.vectors):
            raise ValueError(f"{len(self.ids)} ids for {len(self.vectors)} vectors")
        self._row = {key: row for row, key in enumerate(self.ids)}
        if len(self._row) != len(self.ids):
            raise ValueError("duplicate ids in an embedding table")

    @property
    def dimension(self) -> int:
        return int(self.vectors.shape[1])

    def rows(self, keys: Sequence[str]) -> np.ndarray:
        try:
            indices = [self._row[key] for key in keys]
        except KeyError as error:
            raise DataError(
                f"text {error.args[0]!r} is not in the embedding cache ({self.meta.get('name', '?')}): "
                "rerun `dvc repro embed`"
            ) from None
        return np.asarray(self.vectors[indices], dtype=np.float32)

    def save(self, folder: str | Path) -> None:
        with atomic_path(folder) as staging:
            staging.mkdir(parents=True)
            np.save(staging / "vectors.npy", np.ascontiguousarray(self.vectors, dtype=np.float32))
            (staging / "ids.json").write_text(json.dumps(self.ids), encoding="utf-8")
            (staging / "meta.json").write_text(json.dumps(self.meta, indent=2, sort_keys=True), encoding="utf-8")

    @classmethod
    def load(cls, folder: str | Path, *, expect_model: str | None = None) -> EmbeddingTable:
        folder = Path(folder)
        for name in ("vectors.npy", "ids.json", "meta.json"):
            if not (folder / name).is_file():
                raise DataError(f"{folder}: embedding cache incomplete (no {name}); rerun `dvc repro embed`")
        meta = read_json(folder / "meta.json")
        if expect_model is not None and meta.get("model") != expect_model:
            raise DataError(
                f"{folder}: embeddings were computed with base model {meta.get('model')!r}, "
                f"params.yaml says {expect_model!r}; rerun `dvc repro embed`"
            )
        vectors = np.load(folder / "vectors.npy", mmap_mode="r", allow_pickle=False)
        ids = read_json(folder / "ids.json")
        return cls(ids=ids, vectors=vectors, meta=meta)
