"""The comparison table: one row per architecture of NDCG@10 per dataset, their average, its change against the
baseline, the isotropy scores and the trainable parameters, each a mean over training seeds with its std twin.

Inputs are the plain JSON the other stages write, already loaded into dicts: ``beir[arch][dataset]["ndcg@10"]``,
``isotropy[arch]`` and ``train[arch]`` (flat dicts of numbers).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Collection, Mapping, Sequence

import numpy as np
import pandas as pd

from ragcun import paths
from ragcun.errors import DataError

# Column names of the comparison table. The per-dataset prefix and the average name differ in their first
# word so that no dataset name (even "avg") can collide with the average column.
NDCG_PREFIX = "ndcg@10 "
AVERAGE = "avg ndcg@10"
CHANGE = "change vs baseline %"
ISOTROPY_KEYS: tuple[str, ...] = ("eigen_score", "isoscore", "effective_rank", "mean_cosine", "sigreg")
STD = "_std"  # suffix of a column holding the seeds' standard deviation of the column it extends
PARAMETERS = "trainable_parameters"


def build_comparison(
    architectures: Sequence[str],
    beir: Mapping[str, Mapping[str, Mapping[str, float]]],
    isotropy: Mapping[str, Mapping[str, float]],
    train: Mapping[str, Mapping[str, float]],
    baseline: str,
    *,
    untrained: Collection[str] = ("base",),
    isotropy_keys: Sequence[str] = ISOTROPY_KEYS,
) -> pd.DataFrame:
    """One row per architecture (in the given order), indexed by ``architecture``.

    Columns: ``ndcg@10 <dataset>`` per dataset (sorted), ``avg ndcg@10`` (unweighted mean over datasets),
    ``change vs baseline %`` (relative change of the average against the ``baseline`` row; NaN when the
    baseline average is 0), the ``isotropy_keys`` (NaN where not measured), ``trainable_parameters`` and
    nothing timed: a training's duration is not a result of the method and is kept out of every compared output.
    An architecture in ``untrained`` may have no train metrics (shown as 0 parameters).

    Every value is the mean over training seeds; the NDCG@10, average and isotropy columns have a
    ``<column>_std`` twin with the seeds' standard deviation (the average's is the std of the per-seed
    averages; NaN where the metrics carry no spread).
    """
    datasets = _common_datasets(architectures, beir)
    rows = {}
    for arch in architectures:
        row = {f"{NDCG_PREFIX}{dataset}": _ndcg(beir[arch], arch, dataset) for dataset in datasets}
        row[AVERAGE] = float(np.mean([row[f"{NDCG_PREFIX}{dataset}"] for dataset in datasets]))
        row.update(_ndcg_spread(beir[arch], datasets))
        row.update(_isotropy_row(arch, isotropy, isotropy_keys))
        row.update(_train_row(arch, train, untrained))
        rows[arch] = row
    frame = pd.DataFrame.from_dict(rows, orient="index")
    frame.index.name = "architecture"
    baseline_average = frame.at[baseline, AVERAGE]
    change = (frame[AVERAGE] - baseline_average) / baseline_average * 100.0 if baseline_average else np.nan
    frame.insert(frame.columns.get_loc(AVERAGE) + 1, CHANGE, change)
    return frame


def datasets_of(frame: pd.DataFrame) -> list[str]:
    """The dataset names of a comparison table, in column order."""
    return [column[len(NDCG_PREFIX) :] for column in value_columns(frame) if column.startswith(NDCG_PREFIX)]


def value_columns(frame: pd.DataFrame) -> list[str]:
    """The columns shown in the table (every column but the ``_std`` twins), in order."""
    return [column for column in frame.columns if not column.endswith(STD)]


def _ndcg_spread(metrics: Mapping[str, Mapping[str, object]], datasets: list[str]) -> dict[str, float]:
    """Seed std of each dataset's NDCG@10 and of the per-seed average over datasets (NaN without seeds)."""
    spread = {}
    for dataset in datasets:
        std = metrics[dataset].get(f"ndcg@10{STD}")
        spread[f"{NDCG_PREFIX}{dataset}{STD}"] = float(std) if isinstance(std, numbers.Real) else np.nan
    seeds = [metrics[dataset].get("seeds") for dataset in datasets]
    if all(isinstance(entry, Mapping) and entry for entry in seeds):
        from ragcun.seeds import mean_and_std

        common = sorted(set.intersection(*(set(entry) for entry in seeds)))  # type: ignore[arg-type]
        averages = [float(np.mean([entry[seed]["ndcg@10"] for entry in seeds])) for seed in common]  # type: ignore[index]
        spread[f"{AVERAGE}{STD}"] = mean_and_std(averages)[1] if averages else np.nan
    else:
        spread[f"{AVERAGE}{STD}"] = np.nan
    return spread


def within_seed_noise(frame: pd.DataFrame, baseline: str) -> set[str]:
    """Rows whose average NDCG@10 differs from the baseline's by less than the seeds' spread: less than the
    larger of the two rows' standard deviations over seeds. Rows without a spread are never marked."""
    spread = frame[f"{AVERAGE}{STD}"] if f"{AVERAGE}{STD}" in frame.columns else None
    if spread is None or pd.isna(spread.get(baseline)):
        return set()
    marked = set()
    for arch in frame.index:
        if arch == baseline or pd.isna(spread[arch]):
            continue
        noise = max(float(spread[arch]), float(spread[baseline]))
        if abs(frame.at[arch, AVERAGE] - frame.at[baseline, AVERAGE]) < noise:
            marked.add(str(arch))
    return marked


def _common_datasets(architectures: Sequence[str], beir: Mapping[str, Mapping[str, object]]) -> list[str]:
    reference: tuple[str, set[str]] | None = None
    for arch in architectures:
        if arch not in beir:
            raise DataError(f"architecture {arch!r}: no BEIR metrics ({paths.beir_metrics(arch)})")
        datasets = set(beir[arch])
        if not datasets:
            raise DataError(f"{paths.beir_metrics(arch)}: no datasets")
        if reference is None:
            reference = (arch, datasets)
        elif datasets != reference[1]:
            raise DataError(
                f"{paths.beir_metrics(arch)}: datasets {sorted(datasets)} differ from those of "
                f"{reference[0]!r} {sorted(reference[1])}; every architecture must be evaluated on the same ones"
            )
    assert reference is not None
    return sorted(reference[1])


def _ndcg(metrics: Mapping[str, Mapping[str, float]], arch: str, dataset: str) -> float:
    entry = metrics[dataset]
    if not isinstance(entry, Mapping) or "ndcg@10" not in entry:
        raise DataError(f"{paths.beir_metrics(arch)}: key {dataset}.ndcg@10 is missing")
    return finite_number(entry["ndcg@10"], f"{paths.beir_metrics(arch)}: key {dataset}.ndcg@10")


def _isotropy_row(arch: str, isotropy: Mapping[str, Mapping[str, float]], keys: Sequence[str]) -> dict[str, float]:
    if arch not in isotropy:
        raise DataError(f"architecture {arch!r}: no isotropy metrics ({paths.isotropy_metrics(arch)})")
    where = paths.isotropy_metrics(arch)
    measured = isotropy[arch]
    # A measure may legitimately be absent (not computed for this run): NaN, shown as "–", never invented.
    row = {key: finite_number(measured[key], f"{where}: key {key}") if key in measured else np.nan for key in keys}
    row.update({f"{key}{STD}": float(measured[f"{key}{STD}"]) if f"{key}{STD}" in measured else np.nan for key in keys})
    return row


def _train_row(arch: str, train: Mapping[str, Mapping[str, float]], untrained: Collection[str]) -> dict[str, float]:
    if arch not in train:
        if arch in untrained:
            return {PARAMETERS: 0.0}
        raise DataError(f"architecture {arch!r}: no training metrics ({paths.train_metrics(arch)})")
    where = paths.train_metrics(arch)
    if PARAMETERS not in train[arch]:
        raise DataError(f"{where}: key {PARAMETERS} is missing")
    return {PARAMETERS: finite_number(train[arch][PARAMETERS], f"{where}: key {PARAMETERS}")}


def finite_number(value: object, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise DataError(f"{where}: expected a finite number, got {value!r}")
    return float(value)


HEADLINE_COLUMNS = {AVERAGE: "ndcg@10", "isoscore": "isoscore", "sigreg": "sigreg"}


def headline(frame: pd.DataFrame) -> dict[str, dict[str, float]]:
    """Per architecture: mean NDCG@10 over datasets, IsoScore and the SIGReg statistic, each with its seed
    std — the few numbers a sweep is read by (``metrics/summary.json``), small enough for one screen of
    ``dvc exp show``."""
    result: dict[str, dict[str, float]] = {}
    for arch in frame.index:
        row: dict[str, float] = {}
        for column, key in HEADLINE_COLUMNS.items():
            for source, name in ((column, key), (f"{column}{STD}", f"{key}{STD}")):
                if source in frame.columns and not pd.isna(frame.at[arch, source]):
                    row[name] = round(float(frame.at[arch, source]), 6)
        result[str(arch)] = row
    return result
