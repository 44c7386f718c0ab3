"""Tests of ragcun.report.markdown: the best value in bold, daggers where significant, missing values."""

from __future__ import annotations

from report_inputs import ARCHS, comparison_frame, within_noise_frame

from ragcun.report.cells import MISSING
from ragcun.report.markdown import SEED_NOISE, to_markdown
from ragcun.report.statistics import significance
from ragcun.report.table import CHANGE, PARAMETERS, value_columns, within_seed_noise


def markdown_rows(text: str) -> tuple[list[str], list[list[str]]]:
    lines = [line for line in text.splitlines() if line.startswith("|")]
    split = [[cell.strip() for cell in line.strip("|").split("|")] for line in lines]
    assert all(set(cell) <= set(":-") for cell in split[1])  # the GitHub separator row
    return split[0], split[2:]


def test_markdown_bolds_the_best_and_marks_significance(inputs) -> None:
    frame = comparison_frame(inputs)
    sig = significance(inputs["per_query"], "baseline")
    header, rows = markdown_rows(to_markdown(frame, sig))
    assert header == ["architecture", *value_columns(frame)]
    assert [row[0] for row in rows] == ARCHS
    for j, column in enumerate(value_columns(frame), start=1):
        bold = {row[0] for row in rows if row[j].startswith("**")}
        values = frame[column]
        if column == PARAMETERS or values.isna().all():
            assert bold == set()
        elif column == "mean_cosine":
            assert bold == {values.abs().idxmin()} == {"baseline"}
        else:
            assert values.idxmax() in bold
        daggers = {row[0] for row in rows if row[j].endswith("†")}
        dataset = column.removeprefix("ndcg@10 ")
        expected = {a for a in sig if column.startswith("ndcg@10 ") and sig[a][dataset][1]}
        assert daggers == expected
    assert rows[1][value_columns(frame).index("effective_rank") + 1] == MISSING


def test_markdown_shows_the_seed_spread_and_marks_changes_within_it() -> None:
    frame = within_noise_frame()
    header, rows = markdown_rows(to_markdown(frame, None, within_seed_noise(frame, "baseline")))
    cells = {row[0]: dict(zip(header[1:], row[1:])) for row in rows}
    assert cells["baseline"]["ndcg@10 scifact"] == "0.5000 ± 0.0200"
    assert cells["base"]["ndcg@10 scifact"] == "0.3000"  # untrained: nothing of it varies with the seed
    assert cells["iso_pred"][CHANGE].startswith(SEED_NOISE)
    assert not cells["base"][CHANGE].startswith(SEED_NOISE)
