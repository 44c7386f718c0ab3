"""The frozen-base cache: base-model embeddings of texts, stored once and looked up by key.

A table is a folder with `vectors.npy` (float32 [n, d], memory-mapped on load, never pickled), `ids.json`
(the key of each row) and `meta.json` (which model and settings produced it: `identity`), so a table computed
with another base model or other encoder settings is refused instead of silently mixed in.

Tables are written batch by batch (`write_table`) and read memory-mapped, so an embedding table larger than
RAM (MS MARCO's 8.8M x 768 float32 is 27 GB) is never held in memory: peak memory is one batch plus the ids.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
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

    def __contains__(self, key: object) -> bool:
        return key in self._row

    def rows(self, keys: Sequence[str]) -> np.ndarray:
        try:
            indices = [self._row[key] for key in keys]
        except KeyError as error:
            raise DataError(
                f"text {error.args[0]!r} is not in the embedding cache ({self.meta.get('name', '?')}): "
                "rerun `dvc repro` (the embed stages)"
            ) from None
        return np.asarray(self.vectors[indices], dtype=np.float32)

    def save(self, folder: str | Path) -> None:
        with atomic_path(folder) as staging:
            staging.mkdir(parents=True)
            np.save(staging / "vectors.npy", np.ascontiguousarray(self.vectors, dtype=np.float32))
            (staging / "ids.json").write_text(json.dumps(self.ids), encoding="utf-8")
            (staging / "meta.json").write_text(json.dumps(self.meta, indent=2, sort_keys=True), encoding="utf-8")

    @classmethod
    def load(cls, folder: str | Path, *, expect_identity: Mapping[str, Any] | None = None) -> EmbeddingTable:
        """The table in ``folder``, memory-mapped; with ``expect_identity``, refused unless it was computed with
        exactly those encoder settings (a stale table is an error, never a silent mix)."""
        folder = Path(folder)
        for name in ("vectors.npy", "ids.json", "meta.json"):
            if not (folder / name).is_file():
                raise DataError(f"{folder}: embedding cache incomplete (no {name}); rerun `dvc repro`")
        meta = read_json(folder / "meta.json")
        if expect_identity is not None and meta.get("identity") != dict(expect_identity):
            found = meta.get("identity") or {}
            changed = sorted(key for key in set(found) | set(expect_identity) if found.get(key) != expect_identity.get(key))
            raise DataError(
                f"{folder}: embeddings were computed with other encoder settings ({', '.join(changed) or 'unknown'}: "
                f"{ {key: found.get(key) for key in changed} } vs params.yaml's "
                f"{ {key: expect_identity.get(key) for key in changed} }); rerun `dvc repro`"
            )
        vectors = np.load(folder / "vectors.npy", mmap_mode="r", allow_pickle=False)
        ids = read_json(folder / "ids.json")
        return cls(ids=ids, vectors=vectors, meta=meta)


class CombinedTable:
    """Rows looked up across several tables with disjoint keys (the training collection and its derived texts)."""

    def __init__(self, tables: Sequence[EmbeddingTable]) -> None:
        if not tables:
            raise ValueError("no tables to combine")
        dimensions = {table.dimension for table in tables if table.ids}
        if len(dimensions) > 1:
            raise DataError(f"embedding tables of different dimensions {sorted(dimensions)}; rerun `dvc repro`")
        # Empty tables (no derived texts in mode pairs) hold no key: dropping them keeps the one-table fast path.
        self.tables = [table for table in tables if table.ids] or list(tables[:1])

    @property
    def dimension(self) -> int:
        return self.tables[0].dimension

    def rows(self, keys: Sequence[str]) -> np.ndarray:
        if len(self.tables) == 1:
            return self.tables[0].rows(keys)
        output = np.empty((len(keys), self.dimension), dtype=np.float32)
        by_table: dict[int, list[int]] = {}
        for position, key in enumerate(keys):
            # Each table's own key index answers; a key no table holds is reported by the last table's lookup.
            owner = next((index for index, table in enumerate(self.tables) if key in table), len(self.tables) - 1)
            by_table.setdefault(owner, []).append(position)
        for index, positions in by_table.items():
            output[positions] = self.tables[index].rows([keys[i] for i in positions])
        return output


def write_table(
    folder: str | Path, ids: Sequence[str], batches: Iterable[np.ndarray], dimension: int, meta: Mapping[str, Any]
) -> None:
    """Write a table whose rows arrive batch by batch, in the order of ``ids``, without holding them all:
    the .npy header is written for the final shape, then each batch is appended (atomic as a whole)."""
    with atomic_path(folder) as staging:
        staging.mkdir(parents=True)
        written = 0
        with (staging / "vectors.npy").open("wb") as handle:
            header = {"descr": np.lib.format.dtype_to_descr(np.dtype(np.float32)), "fortran_order": False,
                      "shape": (len(ids), dimension)}
            np.lib.format.write_array_header_1_0(handle, header)
            for batch in batches:
                batch = np.ascontiguousarray(batch, dtype=np.float32)
                if batch.ndim != 2 or batch.shape[1] != dimension:
                    raise ValueError(f"a batch of shape {batch.shape} for a table of dimension {dimension}")
                handle.write(batch.tobytes())
                written += len(batch)
        if written != len(ids):
            raise ValueError(f"{written} vectors written for {len(ids)} ids")
        (staging / "ids.json").write_text(json.dumps(list(ids)), encoding="utf-8")
        (staging / "meta.json").write_text(json.dumps(dict(meta), indent=2, sort_keys=True), encoding="utf-8")
