"""How one cell of the comparison table reads, shared by the Markdown and LaTeX renderers: its precision, the
best row of its column, its seed spread and whether it carries the significance dagger."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

import pandas as pd

from ragcun.report.statistics import Significance
from ragcun.report.table import AVERAGE, CHANGE, NDCG_PREFIX, PARAMETERS, STD

# Which value is best in each column: "max", "min", "zero" (closest to 0) or None (never bolded).
# sigreg is a goodness-of-fit statistic against N(0, I): lower means more Gaussian.
_BETTER: dict[str, str | None] = {
    AVERAGE: "max",
    CHANGE: "max",
    "eigen_score": "max",
    "eigen_ratio": "max",
    "partition_isotropy": "max",
    "isoscore": "max",
    "effective_rank": "max",
    "mean_cosine": "zero",
    "sigreg": "min",
    PARAMETERS: None,
}
_DECIMALS: dict[str, int] = {CHANGE: 2, "effective_rank": 1, PARAMETERS: 0}
_NDCG_DECIMALS = 4
_DEFAULT_DECIMALS = 3
MISSING = "–"  # shown for a value that was not measured


def _decimals(column: str) -> int:
    if column.startswith(NDCG_PREFIX) or column == AVERAGE:
        return _NDCG_DECIMALS
    return _DECIMALS.get(column, _DEFAULT_DECIMALS)


def _better(column: str) -> str | None:
    if column.startswith(NDCG_PREFIX):
        return "max"
    return _BETTER.get(column, "max")


def best_rows(frame: pd.DataFrame, column: str) -> set[str]:
    """Rows holding the best value of ``column`` at its displayed precision (ties all win); none if unranked.

    Compared after rounding so that two values the reader sees as equal are both bold.
    """
    better = _better(column)
    values = frame[column].astype(float).round(_decimals(column)).dropna()
    if better is None or len(values) < 2:
        return set()
    if better == "max":
        target = values.max()
    elif better == "min":
        target = values.min()
    else:
        values = values.abs()
        target = values.min()
    return set(values.index[values == target])


def number_text(value: float, column: str) -> str:
    if pd.isna(value):
        return MISSING
    decimals = _decimals(column)
    if column == CHANGE:
        return f"{value:+.{decimals}f}"
    if column == PARAMETERS:
        return f"{value:,.0f}"
    return f"{value:.{decimals}f}"


def _spread_text(frame: pd.DataFrame, arch: str, column: str) -> str | None:
    """The seeds' std of a cell at the cell's precision, or None where there is none to show (no ``_std``
    twin, not measured, or an untrained row: nothing of it varies with the training seed)."""
    twin = f"{column}{STD}"
    if twin not in frame.columns or pd.isna(frame.at[arch, twin]) or pd.isna(frame.at[arch, column]):
        return None
    if PARAMETERS in frame.columns and frame.at[arch, PARAMETERS] == 0:
        return None
    return f"{frame.at[arch, twin]:.{_decimals(column)}f}"


def _significant(sig: Significance | None, arch: str, column: str) -> bool:
    if sig is None or not column.startswith(NDCG_PREFIX):
        return False
    entry = sig.get(arch, {}).get(column[len(NDCG_PREFIX) :])
    return bool(entry and entry[1])


@dataclass(frozen=True)
class Markup:
    """How a renderer writes the marks of a cell: ``bold`` and ``spread`` are ``str.format`` templates of one
    field, the other two are written as they are."""

    bold: str  # around the best value of its column
    spread: str  # appended: the seeds' std
    dagger: str  # appended: significantly different from the baseline
    within_noise: str  # prefixed to the change of a row within the seeds' spread of the baseline


def marked_cell(
    text: str,
    frame: pd.DataFrame,
    arch: str,
    column: str,
    *,
    best: set[str],
    sig: Significance | None,
    noise: Collection[str],
    markup: Markup,
) -> str:
    """A cell's number text with the marks that apply to it, in ``markup``'s notation."""
    if arch in best:
        text = markup.bold.format(text)
    spread = _spread_text(frame, arch, column)
    if spread is not None:
        text += markup.spread.format(spread)
    if _significant(sig, arch, column):
        text += markup.dagger
    if column == CHANGE and arch in noise:
        text = markup.within_noise + text
    return text
