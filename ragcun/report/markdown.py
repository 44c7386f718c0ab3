"""comparison.md: the GitHub-flavoured Markdown table, its flags, legend, architectures and p-values."""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence

import pandas as pd

from ragcun.config import Correction, SignificanceTest
from ragcun.report.cells import MISSING, Markup, best_rows, marked_cell, number_text
from ragcun.report.statistics import CORRECTION_NAMES, Significance, significance_note
from ragcun.report.table import AVERAGE, CHANGE, NDCG_PREFIX, datasets_of, value_columns

SEED_NOISE = "≈"  # marks a change vs baseline smaller than the seeds' spread
IN_DOMAIN = "‡"  # marks the column of the dataset whose train split the heads were trained on
_MARKUP = Markup(bold="**{}**", spread=" ± {}", dagger="†", within_noise=f"{SEED_NOISE} ")


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
            text = number_text(frame.at[arch, column], column)
            cells.at[arch, column] = marked_cell(text, frame, arch, column, best=best, sig=sig, noise=noise,
                                                 markup=_MARKUP)
    return cells.to_markdown(colalign=("left",) + ("right",) * len(columns)) + "\n"


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
    lines += ["", f"## Adjusted p-values against `{baseline}` ({CORRECTION_NAMES[correction]})", ""]
    if sig:
        table = pd.DataFrame.from_dict(
            {arch: {dataset: f"{sig[arch][dataset][0]:.3g}" for dataset in datasets} for arch in sig}, orient="index"
        )
        table.index.name = "architecture"
        lines.append(table.to_markdown(colalign=("left",) + ("right",) * len(datasets)))
    else:
        lines.append("(no architecture besides the baseline)")
    return "\n".join(lines) + "\n"
