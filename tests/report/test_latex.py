"""Tests of ragcun.report.latex: the fragment's structure and escaping, bold and daggers by hand, and that it
compiles."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest
from report_inputs import ARCHS, DATASETS, comparison_frame, hand_holm_two, hand_p_values, within_noise_frame

from ragcun.report.latex import latex_significance_note, to_latex
from ragcun.report.statistics import significance
from ragcun.report.table import PARAMETERS, value_columns, within_seed_noise


def _latex_body(fragment: str) -> list[list[str]]:
    lines = fragment.splitlines()
    body = lines[lines.index(r"\midrule") + 1 : lines.index(r"\bottomrule")]
    return [line.removesuffix(r" \\").split(" & ") for line in body]


def _strip_markup(cell: str) -> str:
    cell = cell.replace(r"$^{\dagger}$", "").replace("$-$", "-")
    return re.sub(r"\\textbf\{(.*)\}", r"\1", cell)


def test_latex_structure(inputs) -> None:
    frame = comparison_frame(inputs)
    fragment = to_latex(frame, significance(inputs["per_query"], "baseline"), note="a note")
    assert "documentclass" not in fragment and r"\begin{document}" not in fragment
    assert fragment.count("{") == fragment.count("}")
    lines = fragment.splitlines()
    assert lines[0] == "% Caption note: a note"
    shown = len(value_columns(frame))
    assert lines[1] == r"\begin{tabular}{l" + "r" * shown + "}" and lines[-1] == r"\end{tabular}"
    order = [lines.index(rule) for rule in (r"\toprule", r"\midrule", r"\bottomrule")]
    assert order == sorted(order) and all(fragment.count(rule) == 1 for rule in (r"\toprule", r"\midrule"))
    for line in lines[order[0] + 1 : order[2]]:
        if line.startswith(("\\midrule", "\\cmidrule")):
            continue
        cells = line.removesuffix(r" \\").split(" & ")
        spans = sum(int(m) - 1 for m in re.findall(r"\\multicolumn\{(\d+)\}", line))
        assert len(cells) + spans == shown + 1, line
    # Names are escaped: no bare underscore or percent outside math mode.
    text = "\n".join(lines[1:])
    assert r"iso\_pred" in text and r"set\_50\%" in text
    assert not re.search(r"(?<!\\)[_%]", text.replace(r"$^{\dagger}$", ""))


def test_latex_bold_and_daggers_match_hand_computation(inputs) -> None:
    frame = comparison_frame(inputs)
    sig = significance(inputs["per_query"], "baseline")
    rows = _latex_body(to_latex(frame, sig))
    assert [row[0] for row in rows] == ["base", "baseline", r"iso\_pred"]
    hand = {arch: hand_holm_two(hand_p_values(inputs["per_query"], arch, "ttest")) for arch in ("base", "iso_pred")}
    for j, column in enumerate(value_columns(frame), start=1):
        cells = {arch: row[j] for arch, row in zip(ARCHS, rows)}
        bold = {arch for arch, cell in cells.items() if r"\textbf{" in cell}
        shown = {arch: _strip_markup(cell) for arch, cell in cells.items()}
        if column == PARAMETERS or frame[column].isna().all():
            assert bold == set()
        elif column == "mean_cosine":
            assert bold == {"baseline"}
        else:
            # Every bold cell shows the column's best value; the raw maximum's row is always bold.
            numbers = {arch: float(text.replace(",", "")) for arch, text in shown.items() if text != "--"}
            assert {a for a in numbers if numbers[a] == max(numbers.values())} == bold
            assert frame[column].idxmax() in bold
        daggers = {arch for arch, cell in cells.items() if r"$^{\dagger}$" in cell}
        if column.startswith("ndcg@10 "):
            dataset = column.removeprefix("ndcg@10 ")
            assert daggers == {arch for arch in hand if hand[arch][dataset] <= 0.05}
        else:
            assert daggers == set()


@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="pdflatex is not installed")
def test_latex_fragment_compiles_inside_a_document(inputs, tmp_path) -> None:
    frame = comparison_frame(inputs)
    sig = significance(inputs["per_query"], "baseline")
    (tmp_path / "table.tex").write_text(to_latex(frame, sig), encoding="utf-8")
    note = latex_significance_note("baseline", "ttest", "holm", 0.05, len(DATASETS))
    (tmp_path / "main.tex").write_text(
        "\\documentclass{article}\n\\usepackage{booktabs}\n\\usepackage[margin=1cm,landscape]{geometry}\n"
        f"\\begin{{document}}\n\\begin{{table}}\n\\caption{{Comparison. {note}}}\n\\input{{table}}\n"
        "\\end{table}\n\\end{document}\n",
        encoding="utf-8",
    )
    completed = subprocess.run(
        ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "main.tex"],
        cwd=tmp_path, capture_output=True, text=True, timeout=60,
    )
    assert completed.returncode == 0, completed.stdout[-3000:]
    assert (tmp_path / "main.pdf").stat().st_size > 0


def test_latex_shows_the_seed_spread_and_marks_changes_within_it() -> None:
    frame = within_noise_frame()
    tex = to_latex(frame, None, noise=within_seed_noise(frame, "baseline"))
    assert r"$\pm$0.0200" in tex and r"$\approx$" in tex
