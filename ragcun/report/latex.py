"""comparison.tex: the table as a booktabs ``tabular`` fragment for the paper, and its caption note."""

from __future__ import annotations

from collections.abc import Collection, Sequence

import pandas as pd

from ragcun.config import Correction, SignificanceTest
from ragcun.report.cells import Markup, best_rows, marked_cell, number_text
from ragcun.report.statistics import Significance, significance_note
from ragcun.report.table import AVERAGE, CHANGE, NDCG_PREFIX, PARAMETERS, datasets_of, value_columns

_LATEX_MISSING = "--"  # an en dash in LaTeX without relying on the input encoding
_MARKUP = Markup(bold=r"\textbf{{{}}}", spread=r"\,{{\scriptsize$\pm${}}}", dagger=r"$^{\dagger}$",
                 within_noise=r"$\approx$")


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
        text = number_text(value, column)
        if text.startswith("-"):
            text = "$-$" + text[1:]  # a real minus sign, not a hyphen
    return marked_cell(text, frame, arch, column, best=best, sig=sig, noise=noise, markup=_MARKUP)


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


def latex_significance_note(baseline: str, test: SignificanceTest, correction: Correction, alpha: float, datasets: int) -> str:
    """``significance_note`` in LaTeX, ready to paste into the table's caption."""
    text = significance_note(baseline, test, correction, alpha, datasets)
    text = latex_escape(text.removeprefix("† ")).replace("–", "--").replace("α", r"$\alpha$")
    return r"$^{\dagger}$ " + text
