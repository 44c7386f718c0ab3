"""The comparison report: one table of NDCG@10 and isotropy per architecture, with paired significance tests.

Outputs (``write_report``): ``comparison.md`` (GitHub table + legend), ``comparison.csv`` (raw numbers),
``comparison.tex`` (a booktabs ``tabular`` fragment for the paper) and ``isotropy_vs_ndcg.png``.

Inputs are the plain JSON the other stages write, already loaded into dicts:
``beir[arch][dataset]["ndcg@10"]``, ``per_query[arch][dataset][query_id]`` (NDCG@10 per query),
``isotropy[arch]`` and ``train[arch]`` (flat dicts of numbers).
"""

from __future__ import annotations

import math
import numbers
import re
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from ragcun import paths
from ragcun.config import Correction, SignificanceTest
from ragcun.errors import DataError
from ragcun.figures import eigenvalue_spectra_figure, place_labels, save_figure
from ragcun.io import atomic_path

Significance = dict[str, dict[str, tuple[float, bool]]]

# Column names of the comparison table. The per-dataset prefix and the average name differ in their first
# word so that no dataset name (even "avg") can collide with the average column.
NDCG_PREFIX = "ndcg@10 "
AVERAGE = "avg ndcg@10"
CHANGE = "change vs baseline %"
ISOTROPY_KEYS: tuple[str, ...] = ("eigen_score", "isoscore", "effective_rank", "mean_cosine", "sigreg")
STD = "_std"  # suffix of a column holding the seeds' standard deviation of the column it extends
SEED_NOISE = "≈"  # marks a change vs baseline smaller than the seeds' spread
PARAMETERS = "trainable_parameters"

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
IN_DOMAIN = "‡"  # marks the column of the dataset whose train split the heads were trained on
_LATEX_MISSING = "--"  # an en dash in LaTeX without relying on the input encoding

_TEST_NAMES = {"ttest": "paired t-test", "wilcoxon": "Wilcoxon signed-rank test"}
_CORRECTION_NAMES = {
    "holm": "Holm–Bonferroni correction",
    "bonferroni": "Bonferroni correction",
    "none": "no multiple-testing correction",
}


# --------------------------------------------------------------------------------------------- table


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
    return _number(entry["ndcg@10"], f"{paths.beir_metrics(arch)}: key {dataset}.ndcg@10")


def _isotropy_row(arch: str, isotropy: Mapping[str, Mapping[str, float]], keys: Sequence[str]) -> dict[str, float]:
    if arch not in isotropy:
        raise DataError(f"architecture {arch!r}: no isotropy metrics ({paths.isotropy_metrics(arch)})")
    where = paths.isotropy_metrics(arch)
    measured = isotropy[arch]
    # A measure may legitimately be absent (not computed for this run): NaN, shown as "–", never invented.
    row = {key: _number(measured[key], f"{where}: key {key}") if key in measured else np.nan for key in keys}
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
    return {PARAMETERS: _number(train[arch][PARAMETERS], f"{where}: key {PARAMETERS}")}


def _number(value: object, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise DataError(f"{where}: expected a finite number, got {value!r}")
    return float(value)


# ------------------------------------------------------------------------------------- significance


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm–Bonferroni step-down adjusted p-values, in the input order.

    Hand-written because scipy has no Holm correction and statsmodels (``multipletests(method="holm")``,
    which this matches) is not a dependency; it is five lines. Sorted ascending, the i-th smallest
    (0-based) is multiplied by m - i, a running maximum keeps the adjusted values monotone, capped at 1.
    """
    p = np.asarray(p_values, dtype=np.float64)
    order = np.argsort(p, kind="stable")
    scaled = p[order] * (p.size - np.arange(p.size))
    adjusted = np.empty_like(p)
    adjusted[order] = np.minimum(np.maximum.accumulate(scaled), 1.0)
    return adjusted.tolist()


def correct(p_values: Sequence[float], correction: Correction) -> list[float]:
    """Adjust a family of p-values for multiple testing ("holm", "bonferroni" or "none")."""
    if correction == "holm":
        return holm(p_values)
    if correction == "bonferroni":
        return [min(1.0, p * len(p_values)) for p in p_values]
    if correction == "none":
        return [float(p) for p in p_values]
    raise ValueError(f"correction {correction!r} is not one of config.Correction")


def paired_p_value(scores: Sequence[float], baseline_scores: Sequence[float], test: SignificanceTest) -> float:
    """Two-sided p-value of a paired test between two aligned score arrays.

    Identical arrays give 1.0: there is no evidence of a difference, whereas scipy would return NaN (t-test,
    zero variance) or warn (Wilcoxon, every difference dropped).
    """
    a = np.asarray(scores, dtype=np.float64)
    b = np.asarray(baseline_scores, dtype=np.float64)
    if np.array_equal(a, b):
        return 1.0
    import scipy.stats  # imported here: ~0.5 s that importers of this module's other parts need not pay

    if test == "ttest":
        p = scipy.stats.ttest_rel(a, b).pvalue
    elif test == "wilcoxon":
        p = scipy.stats.wilcoxon(a, b).pvalue
    else:
        raise ValueError(f"test {test!r} is not one of config.SignificanceTest")
    return float(p)


def significance(
    per_query: Mapping[str, Mapping[str, Mapping[str, float]]],
    baseline: str,
    test: SignificanceTest = "ttest",
    correction: Correction = "holm",
    alpha: float = 0.05,
) -> Significance:
    """``result[arch][dataset] = (p_value, significant)`` for every architecture except the baseline.

    Each dataset is a paired test over the queries both runs scored; the p-values of one architecture (one
    per dataset) form the family that ``correction`` adjusts. ``p_value`` is the adjusted one and
    ``significant`` is ``p_value <= alpha``.
    """
    if baseline not in per_query:
        raise DataError(f"architecture {baseline!r}: no per-query NDCG@10 ({paths.evaluation_outputs(baseline)})")
    datasets = sorted(per_query[baseline])
    result: Significance = {}
    for arch, runs in per_query.items():
        if arch == baseline:
            continue
        if sorted(runs) != datasets:
            raise DataError(
                f"{paths.evaluation_outputs(arch)}: per-query datasets {sorted(runs)} differ from the "
                f"baseline {baseline!r} {datasets}"
            )
        raw = [_dataset_p_value(arch, runs[dataset], baseline, per_query[baseline][dataset], dataset, test)
               for dataset in datasets]
        adjusted = correct(raw, correction)
        result[arch] = {dataset: (p, bool(p <= alpha)) for dataset, p in zip(datasets, adjusted)}
    return result


def _dataset_p_value(
    arch: str,
    scores: Mapping[str, float],
    baseline: str,
    baseline_scores: Mapping[str, float],
    dataset: str,
    test: SignificanceTest,
) -> float:
    common = sorted(set(scores) & set(baseline_scores))
    if len(common) < 2:
        raise DataError(
            f"{paths.evaluation_outputs(arch)}: {dataset}: {len(common)} queries in common with the baseline "
            f"{baseline!r}; a paired test needs at least 2"
        )
    where = f"{paths.evaluation_outputs(arch)}: {dataset}"
    a = [_number(scores[query], f"{where}: query {query}") for query in common]
    b = [_number(baseline_scores[query], f"{paths.evaluation_outputs(baseline)}: {dataset}: query {query}")
         for query in common]
    return paired_p_value(a, b, test)


def significance_note(baseline: str, test: SignificanceTest, correction: Correction, alpha: float, datasets: int) -> str:
    """Plain-text legend for the dagger: the test, the correction, its family size and alpha."""
    family = f" across the {datasets} datasets of each architecture" if correction != "none" else ""
    return (
        f"† significantly different from {baseline} on that dataset: two-sided {_TEST_NAMES[test]} on "
        f"per-query NDCG@10 (each query's mean over the training seeds) over the queries both runs answered, "
        f"{_CORRECTION_NAMES[correction]}{family}, α = {alpha:g}."
    )


def latex_significance_note(baseline: str, test: SignificanceTest, correction: Correction, alpha: float, datasets: int) -> str:
    """``significance_note`` in LaTeX, ready to paste into the table's caption."""
    text = significance_note(baseline, test, correction, alpha, datasets)
    text = latex_escape(text.removeprefix("† ")).replace("–", "--").replace("α", r"$\alpha$")
    return r"$^{\dagger}$ " + text


# ----------------------------------------------------------------------------------------- formatting


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


def _number_text(value: float, column: str) -> str:
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


def to_markdown(frame: pd.DataFrame, sig: Significance | None = None, noise: Collection[str] = ()) -> str:
    """GitHub-flavoured Markdown table: mean ± seed std, best mean per column in **bold**, † where ``sig``
    says significant, ≈ before the change of a row in ``noise`` (within the seeds' spread of the baseline).

    Uses pandas' ``to_markdown`` (tabulate, installed as a dependency of dvc).
    """
    columns = value_columns(frame)
    cells = pd.DataFrame(index=frame.index, columns=columns, dtype=object)
    for column in columns:
        best = best_rows(frame, column)
        for arch in frame.index:
            text = _number_text(frame.at[arch, column], column)
            if arch in best:
                text = f"**{text}**"
            spread = _spread_text(frame, arch, column)
            if spread is not None:
                text += f" ± {spread}"
            if _significant(sig, arch, column):
                text += "†"
            if column == CHANGE and arch in noise:
                text = f"{SEED_NOISE} {text}"
            cells.at[arch, column] = text
    return cells.to_markdown(colalign=("left",) + ("right",) * len(columns)) + "\n"


def to_csv(frame: pd.DataFrame) -> str:
    """The raw (unrounded) numbers; missing values are empty cells."""
    return frame.to_csv(float_format="%.10g")


_LATEX_SPECIALS = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
}


def latex_escape(text: str) -> str:
    """Escape LaTeX's special characters in plain text (names, column headers)."""
    return "".join(_LATEX_SPECIALS.get(char, char) for char in str(text))


# Short paper-style headers for the known columns; any other column name is escaped as it is.
_LATEX_HEADERS = {
    AVERAGE: "Avg.",
    CHANGE: r"$\Delta$ avg.\ (\%)",
    "eigen_score": "EigenScore",
    "eigen_ratio": r"$\lambda_{\min}/\lambda_{\max}$",
    "partition_isotropy": "I(W)",
    "isoscore": "IsoScore",
    "effective_rank": "Eff.\\ rank",
    "mean_cosine": "Mean cos.",
    "sigreg": "SIGReg",
    PARAMETERS: "Params",
}


def _latex_header(column: str) -> str:
    return _LATEX_HEADERS.get(column, latex_escape(column))


def _latex_cell(
    frame: pd.DataFrame, arch: str, column: str, best: set[str], sig: Significance | None, noise: Collection[str]
) -> str:
    value = frame.at[arch, column]
    if pd.isna(value):
        text = _LATEX_MISSING
    else:
        text = _number_text(value, column)
        if text.startswith("-"):
            text = "$-$" + text[1:]  # a real minus sign, not a hyphen
    if arch in best:
        text = rf"\textbf{{{text}}}"
    spread = _spread_text(frame, arch, column)
    if spread is not None:
        text += rf"\,{{\scriptsize$\pm${spread}}}"
    if _significant(sig, arch, column):
        text += r"$^{\dagger}$"
    if column == CHANGE and arch in noise:
        text = r"$\approx$" + text
    return text


def to_latex(
    frame: pd.DataFrame,
    sig: Significance | None = None,
    *,
    note: str | None = None,
    noise: Collection[str] = (),
    notes_below: Sequence[str] = (),
) -> str:
    """A booktabs ``tabular`` fragment (no preamble) to ``\\input`` inside a ``table`` environment.

    The NDCG@10 columns share a spanning header; best value per column in ``\\textbf``; ``$^{\\dagger}$``
    where ``sig`` says the difference from the baseline is significant; seed std as a small ``±``; ``$\approx$``
    before the change of a row in ``noise``. ``note`` (e.g. ``latex_significance_note``) is written as a
    comment above the table for the caption; ``notes_below`` (plain text, escaped here) as paragraphs after it.
    Hand-formatted rather than ``Styler.to_latex``: the spanning header, per-column "best" rules and the
    dagger would need as much code there, and this keeps the output independent of jinja2.
    """
    datasets = datasets_of(frame)
    columns = value_columns(frame)
    others = columns[len(datasets) :]
    if columns[: len(datasets)] != [f"{NDCG_PREFIX}{d}" for d in datasets]:
        raise ValueError("to_latex expects the per-dataset NDCG@10 columns first, as build_comparison makes them")
    lines = []
    if note:
        lines += [f"% Caption note: {line}" for line in note.splitlines()]
    lines.append(r"\begin{tabular}{l" + "r" * len(columns) + "}")
    lines.append(r"\toprule")
    first = ["", rf"\multicolumn{{{len(datasets)}}}{{c}}{{NDCG@10}}"] + [_latex_header(c) for c in others]
    second = [latex_escape(frame.index.name or "")] + [latex_escape(d) for d in datasets] + [""] * len(others)
    lines.append(" & ".join(first) + r" \\")
    lines.append(rf"\cmidrule(lr){{2-{len(datasets) + 1}}}")
    lines.append(" & ".join(second) + r" \\")
    lines.append(r"\midrule")
    best = {column: best_rows(frame, column) for column in columns}
    for arch in frame.index:
        cells = [latex_escape(arch)] + [_latex_cell(frame, arch, column, best[column], sig, noise) for column in columns]
        lines.append(" & ".join(cells) + r" \\")
    lines.append(r"\bottomrule")
    lines.append(r"\end{tabular}")
    for text in notes_below:
        lines.append(r"\par\smallskip{\footnotesize " + latex_text(text) + "}")
    return "\n".join(lines) + "\n"


def latex_text(text: str) -> str:
    """Plain prose (a note) as LaTeX: specials escaped, comparison signs and the approx mark in math mode."""
    escaped = latex_escape(text)
    for plain, math in (("<", "$<$"), (">", "$>$"), ("≈", r"$\approx$"), ("±", r"$\pm$"), ("–", "--")):
        escaped = escaped.replace(plain, math)
    return escaped


# -------------------------------------------------------------------------------------------- figures


def plot_isotropy_vs_ndcg(
    frame: pd.DataFrame, path: str | Path, *, x: str = "isoscore", baseline: str | None = None
) -> None:
    """Save ``isotropy_vs_ndcg_figure`` to ``path`` (atomically)."""
    save_figure(isotropy_vs_ndcg_figure(frame, x=x, baseline=baseline), path)


def isotropy_vs_ndcg_figure(frame: pd.DataFrame, *, x: str = "isoscore", baseline: str | None = None) -> Figure:
    """Scatter of an isotropy score (x) against average NDCG@10 (y), one labelled point per architecture.

    Architectures without the score are left out and named in the figure, so the omission is visible.
    """
    if x not in frame.columns:
        raise DataError(f"the comparison table has no {x!r} column to plot")
    shown = frame[[x, AVERAGE]].dropna()
    if shown.empty:
        raise DataError(f"no architecture has an isotropy score {x!r} to plot")
    figure = Figure(figsize=(6.0, 4.5), layout="constrained")
    axes = figure.subplots()
    for arch, (x_value, y_value) in shown.iterrows():
        marker = "*" if arch == baseline else "o"
        axes.scatter([x_value], [y_value], marker=marker, s=80 if marker == "*" else 40, zorder=3)
    missing = [str(arch) for arch in frame.index if arch not in shown.index]
    axes.set_xlabel(x + (f"\n(not shown, no {x}: {', '.join(missing)})" if missing else ""))
    axes.set_ylabel("average NDCG@10")
    count = len(datasets_of(frame))
    axes.set_title(f"{x} vs average NDCG@10 ({count} dataset{'s' if count != 1 else ''})")
    axes.margins(0.15)  # room for the labels of the outermost points
    axes.grid(True, alpha=0.3)
    place_labels(axes, [(x_value, y_value, str(arch)) for arch, (x_value, y_value) in shown.iterrows()])
    return figure


# --------------------------------------------------------------------------------------------- report


def in_domain_note(dataset: str) -> str:
    return (f"In-domain: the trained rows were trained on the train split of {dataset}; its column is its test "
            "split, not zero-shot (the base row is zero-shot everywhere).")


def markdown_report(
    frame: pd.DataFrame,
    sig: Significance,
    *,
    baseline: str,
    test: SignificanceTest,
    correction: Correction,
    alpha: float,
    descriptions: Mapping[str, str],
    noise: Collection[str] = (),
    notes: Sequence[str] = (),
    seeds: int = 1,
    in_domain: str | None = None,
) -> str:
    """comparison.md: the table, the flags (inert terms, collapsed rows), a legend (datasets, seeds, test,
    correction, alpha), the architectures and p-values. ``in_domain`` (a dataset trained on) gets ‡ on its
    column and a line saying so."""
    datasets = datasets_of(frame)
    table = to_markdown(frame, sig, noise)
    if in_domain in datasets:
        header, _, body = table.partition("\n")
        column = re.escape(f"{NDCG_PREFIX}{in_domain}")
        # the lookahead keeps a dataset whose name extends this one ("sci" vs "scifact") unmarked
        table = re.sub(rf"{column}(?=\s*\|)", f"{NDCG_PREFIX}{in_domain} {IN_DOMAIN}", header, count=1) + "\n" + body
    lines = [
        "# Comparison of architectures",
        "",
        table,
    ]
    if notes:
        lines += ["**Read with care:**", ""] + [f"- ⚠ {note}" for note in notes] + [""]
    lines += [
        f"- Each trained row: mean ± standard deviation over {seeds} training seed{'s' if seeds != 1 else ''}; "
        f"`{SEED_NOISE}` before a change: it is smaller than the seeds' spread (the larger of the two rows' "
        "std of the average), so it is not a finding.",
        f"- Datasets ({len(datasets)}): {', '.join(datasets)}. `{NDCG_PREFIX.strip()} <dataset>` is NDCG@10 on "
        f"that dataset; `{AVERAGE}` is their unweighted mean; `{CHANGE}` is the relative change of that mean "
        f"against `{baseline}`.",
        "- **Bold**: best value per column at the shown precision (higher is better; mean_cosine: closest "
        "to 0; sigreg: lower); parameters are not ranked.",
        f"- {significance_note(baseline, test, correction, alpha, len(datasets))}",
        f"- {MISSING}: not measured.",
    ]
    if in_domain in datasets:
        lines.append(f"- {IN_DOMAIN} {in_domain_note(in_domain)}")
    lines += [
        "",
        "## Architectures",
        "",
    ]
    lines += [f"- `{arch}`: {descriptions.get(arch) or MISSING}" for arch in frame.index]
    lines += ["", f"## Adjusted p-values against `{baseline}` ({_CORRECTION_NAMES[correction]})", ""]
    if sig:
        table = pd.DataFrame.from_dict(
            {arch: {dataset: f"{sig[arch][dataset][0]:.3g}" for dataset in datasets} for arch in sig}, orient="index"
        )
        table.index.name = "architecture"
        lines.append(table.to_markdown(colalign=("left",) + ("right",) * len(datasets)))
    else:
        lines.append("(no architecture besides the baseline)")
    return "\n".join(lines) + "\n"


def write_report(
    out_dir: str | Path,
    *,
    architectures: Sequence[str],
    beir: Mapping[str, Mapping[str, Mapping[str, float]]],
    per_query: Mapping[str, Mapping[str, Mapping[str, float]]],
    isotropy: Mapping[str, Mapping[str, float]],
    train: Mapping[str, Mapping[str, float]],
    descriptions: Mapping[str, str],
    baseline: str,
    spectra: Mapping[str, np.ndarray] | None = None,
    test: SignificanceTest = "ttest",
    correction: Correction = "holm",
    alpha: float = 0.05,
    untrained: Collection[str] = ("base",),
    plot_x: str = "isoscore",
    weights: Mapping[str, Mapping[str, float]] | None = None,
    seeds: int = 1,
    in_domain: str | None = None,
) -> tuple[pd.DataFrame, list[str]]:
    """Write comparison.md, comparison.csv, comparison.tex and isotropy_vs_ndcg.png into ``out_dir``, and
    eigenvalue_spectra.png when ``spectra`` (document-embedding eigenvalues per architecture) are given.

    Everything is computed (and every input checked) before the first file is written, and each file is
    written atomically. ``weights`` (each architecture's lambdas by loss term) enables the inert-term flag;
    the collapse flag takes each architecture's dimension from its spectrum. Returns the comparison table and
    the flags written under it.
    """
    out_dir = Path(out_dir)
    frame = build_comparison(architectures, beir, isotropy, train, baseline, untrained=untrained)
    datasets = datasets_of(frame)
    for arch in architectures:
        if arch not in per_query:
            raise DataError(f"architecture {arch!r}: no per-query NDCG@10 ({paths.evaluation_outputs(arch)})")
        if sorted(per_query[arch]) != datasets:
            raise DataError(
                f"{paths.evaluation_outputs(arch)}: per-query datasets {sorted(per_query[arch])} differ from "
                f"the BEIR metrics' {datasets}"
            )
    sig = significance({arch: per_query[arch] for arch in architectures}, baseline, test, correction, alpha)
    figure = isotropy_vs_ndcg_figure(frame, x=plot_x, baseline=baseline)
    spectra_figure = None
    if spectra is not None:
        missing = [arch for arch in architectures if arch not in spectra]
        if missing:
            raise DataError(f"no eigenvalue spectrum for architecture(s) {missing} ({paths.eigenvalue_spectra(missing[0])})")
        spectra_figure = eigenvalue_spectra_figure(
            {arch: spectra[arch] for arch in architectures}, "covariance eigenvalues of the document embeddings"
        )
    from ragcun.diagnostics import diagnostic_notes

    dimensions = {arch: len(spectra[arch]) if spectra is not None else 0 for arch in architectures}
    notes = diagnostic_notes(list(architectures), train, weights or {}, isotropy, dimensions)
    noise = within_seed_noise(frame, baseline)
    markdown = markdown_report(
        frame, sig, baseline=baseline, test=test, correction=correction, alpha=alpha, descriptions=descriptions,
        noise=noise, notes=notes, seeds=seeds, in_domain=in_domain,
    )
    latex = to_latex(
        frame, sig, note=latex_significance_note(baseline, test, correction, alpha, len(datasets)),
        noise=noise, notes_below=[*notes, *([in_domain_note(in_domain)] if in_domain in datasets else [])],
    )
    for name, text in (("comparison.md", markdown), ("comparison.csv", to_csv(frame)), ("comparison.tex", latex)):
        with atomic_path(out_dir / name) as staging:
            staging.write_text(text, encoding="utf-8")
    save_figure(figure, out_dir / "isotropy_vs_ndcg.png")
    if spectra_figure is not None:
        save_figure(spectra_figure, out_dir / "eigenvalue_spectra.png")
    return frame, notes


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
