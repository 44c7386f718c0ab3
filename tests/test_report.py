"""Tests of ragcun.report: table contents, paired tests and corrections, Markdown/CSV/LaTeX output, figures."""

from __future__ import annotations

import re
import shutil
import subprocess

import matplotlib.image
import numpy as np
import pandas as pd
import pytest
import scipy.stats

from ragcun import figures, report
from ragcun.errors import DataError

ARCHS = ["base", "baseline", "iso_pred"]
# An underscore and a percent sign in names exercise the LaTeX escaping.
DATASETS = ["scifact", "set_50%"]


def _per_query() -> dict[str, dict[str, dict[str, float]]]:
    """Per-query NDCG@10: iso_pred is clearly better than the baseline on scifact only; base is noise.

    Query ids differ between runs (one extra per run) so that the test sees pairing over common queries.
    """
    rng = np.random.default_rng(7)
    runs: dict[str, dict[str, dict[str, float]]] = {arch: {} for arch in ARCHS}
    for dataset in DATASETS:
        reference = rng.uniform(0.2, 0.7, size=40)
        shifted = {
            "base": reference + rng.normal(0.0, 0.1, size=40),
            "baseline": reference,
            "iso_pred": reference + (0.15 if dataset == "scifact" else 0.0) + rng.normal(0.0, 0.05, size=40),
        }
        for arch, values in shifted.items():
            scores = {f"q{i}": float(np.clip(v, 0.0, 1.0)) for i, v in enumerate(values)}
            scores[f"only-{arch}"] = 0.5  # not in any other run: must be ignored by the paired test
            runs[arch][dataset] = scores
    return runs


def _beir(per_query: dict[str, dict[str, dict[str, float]]]) -> dict[str, dict[str, dict[str, float]]]:
    return {
        arch: {
            dataset: {"ndcg@10": float(np.mean(list(scores.values()))), "map@100": 0.1, "recall@100": 0.2}
            for dataset, scores in runs.items()
        }
        for arch, runs in per_query.items()
    }


ISOTROPY = {
    # mean_cosine: -0.02 is closest to 0, neither the maximum (0.04) nor the minimum (-0.31).
    "base": {"eigen_score": 0.12, "isoscore": 0.05, "effective_rank": 120.5, "mean_cosine": -0.31},
    "baseline": {"eigen_score": 0.2, "isoscore": 0.08, "mean_cosine": -0.02},
    "iso_pred": {"eigen_score": 0.61, "isoscore": 0.4, "effective_rank": 300.25, "mean_cosine": 0.04},
}
TRAIN = {  # base has no train metrics: it is the untrained model
    "baseline": {"trainable_parameters": 296_064, "best_epoch": 2},
    "iso_pred": {"trainable_parameters": 592_128},
}
DESCRIPTIONS = {"base": "raw base model", "baseline": "no isotropy", "iso_pred": "isotropic + predictor"}


@pytest.fixture()
def inputs() -> dict[str, object]:
    per_query = _per_query()
    return {
        "architectures": ARCHS,
        "beir": _beir(per_query),
        "per_query": per_query,
        "isotropy": ISOTROPY,
        "train": TRAIN,
        "descriptions": DESCRIPTIONS,
        "baseline": "baseline",
    }


def _frame(inputs: dict[str, object]) -> pd.DataFrame:
    return report.build_comparison(
        inputs["architectures"], inputs["beir"], inputs["isotropy"], inputs["train"], inputs["baseline"]
    )


def _hand_p_values(per_query, arch: str, test: str) -> dict[str, float]:
    """Raw paired p-values computed here with scipy, over the query ids both runs share."""
    result = {}
    for dataset in DATASETS:
        ours, theirs = per_query[arch][dataset], per_query["baseline"][dataset]
        common = sorted(set(ours) & set(theirs))
        a, b = [ours[q] for q in common], [theirs[q] for q in common]
        function = scipy.stats.ttest_rel if test == "ttest" else scipy.stats.wilcoxon
        result[dataset] = float(function(a, b).pvalue)
    return result


def _hand_holm_two(p: dict[str, float]) -> dict[str, float]:
    """Holm for a family of two, worked by hand: smallest x2, the other max(that, itself x1), capped at 1."""
    (small_name, small), (large_name, large) = sorted(p.items(), key=lambda item: item[1])
    first = min(1.0, 2 * small)
    return {small_name: first, large_name: min(1.0, max(first, large))}


# ------------------------------------------------------------------------------------------ corrections


def test_holm_matches_a_hand_worked_example() -> None:
    # m = 4. Sorted: 0.005*4 = 0.02, 0.01*3 = 0.03, 0.03*2 = 0.06, 0.04*1 = 0.04 -> running max 0.06.
    assert report.holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    # Capped at 1, and ties scale alike.
    assert report.holm([0.5, 0.6]) == pytest.approx([1.0, 1.0])
    assert report.holm([0.02, 0.02, 0.5]) == pytest.approx([0.06, 0.06, 0.5])


def test_holm_rejects_what_the_sequential_procedure_rejects() -> None:
    # The textbook step-down: compare the k-th smallest p (1-based) with alpha / (m - k + 1), stop at the
    # first failure. 0.005 <= 0.0125 yes, 0.01 <= 0.01667 yes, 0.03 <= 0.025 no -> only the first two.
    p = [0.01, 0.04, 0.03, 0.005]
    rejected = [adjusted <= 0.05 for adjusted in report.holm(p)]
    assert rejected == [True, False, False, True]


def test_bonferroni_and_none() -> None:
    assert report.correct([0.01, 0.3, 0.02], "bonferroni") == pytest.approx([0.03, 0.9, 0.06])
    assert report.correct([0.01, 0.6], "bonferroni") == pytest.approx([0.02, 1.0])
    assert report.correct([0.01, 0.6], "none") == pytest.approx([0.01, 0.6])
    # params.yaml cannot name another correction (config.Correction); code that does gets a ValueError
    with pytest.raises(ValueError, match="config.Correction"):
        report.correct([0.1], "sidak")  # type: ignore[arg-type]


# ----------------------------------------------------------------------------------------- significance


@pytest.mark.parametrize("test", ["ttest", "wilcoxon"])
def test_uncorrected_p_values_equal_scipy_on_the_common_queries(inputs, test) -> None:
    result = report.significance(inputs["per_query"], "baseline", test, "none", 0.05)
    assert set(result) == {"base", "iso_pred"}  # the baseline is not tested against itself
    for arch in ("base", "iso_pred"):
        expected = _hand_p_values(inputs["per_query"], arch, test)
        for dataset in DATASETS:
            p_value, significant = result[arch][dataset]
            assert p_value == pytest.approx(expected[dataset], rel=1e-12)
            assert significant == (expected[dataset] <= 0.05)


@pytest.mark.parametrize("test", ["ttest", "wilcoxon"])
def test_holm_corrected_p_values_and_decisions(inputs, test) -> None:
    result = report.significance(inputs["per_query"], "baseline", test, "holm", 0.05)
    for arch in ("base", "iso_pred"):
        expected = _hand_holm_two(_hand_p_values(inputs["per_query"], arch, test))
        assert {d: result[arch][d][0] for d in DATASETS} == pytest.approx(expected, rel=1e-12)
        assert {d: result[arch][d][1] for d in DATASETS} == {d: expected[d] <= 0.05 for d in DATASETS}
    # The fixture is built so that the decisions are not all alike (otherwise daggers test nothing).
    assert result["iso_pred"]["scifact"][1] and not result["iso_pred"]["set_50%"][1]


def test_significant_means_adjusted_p_at_most_alpha(inputs) -> None:
    p = _hand_holm_two(_hand_p_values(inputs["per_query"], "iso_pred", "ttest"))["set_50%"]
    assert 0.0 < p < 1.0
    at = report.significance(inputs["per_query"], "baseline", "ttest", "holm", alpha=p)
    below = report.significance(inputs["per_query"], "baseline", "ttest", "holm", alpha=p * 0.999)
    assert at["iso_pred"]["set_50%"] == (pytest.approx(p), True)
    assert below["iso_pred"]["set_50%"] == (pytest.approx(p), False)


@pytest.mark.parametrize("test", ["ttest", "wilcoxon"])
def test_identical_runs_give_p_one_not_nan(test) -> None:
    scores = {"q1": 0.5, "q2": 0.25, "q3": 1.0}
    result = report.significance({"a": {"d": scores}, "b": {"d": dict(scores)}}, "b", test, "holm", 0.05)
    assert result == {"a": {"d": (1.0, False)}}


def test_significance_rejects_bad_input() -> None:
    runs = {"a": {"d": {"q1": 0.5, "q2": 0.1}}, "b": {"d": {"q1": 0.4, "q3": 0.2}}}
    with pytest.raises(DataError, match="1 queries in common"):
        report.significance(runs, "b")
    with pytest.raises(DataError, match="differ from the baseline"):
        report.significance({"a": {"e": {}}, "b": {"d": {}}}, "b")
    with pytest.raises(DataError, match="'missing'"):
        report.significance(runs, "missing")


# ---------------------------------------------------------------------------------------------- table


def test_comparison_table_rows_columns_and_values(inputs) -> None:
    frame = _frame(inputs)
    assert list(frame.index) == ARCHS
    dataset_columns = [f"ndcg@10 {d}" for d in DATASETS]
    assert report.value_columns(frame) == dataset_columns + [
        report.AVERAGE, report.CHANGE, *report.ISOTROPY_KEYS, report.PARAMETERS
    ]
    # Every mean column that varies with the training seed has its std twin (NaN: these inputs carry none).
    assert {c for c in frame.columns if c.endswith(report.STD)} == {
        f"{c}{report.STD}" for c in [*dataset_columns, report.AVERAGE, *report.ISOTROPY_KEYS]
    }
    beir = inputs["beir"]
    for arch in ARCHS:
        ndcg = [beir[arch][d]["ndcg@10"] for d in DATASETS]
        assert frame.loc[arch, dataset_columns].tolist() == pytest.approx(ndcg)
        assert frame.at[arch, report.AVERAGE] == pytest.approx(sum(ndcg) / len(ndcg))
    baseline_average = frame.at["baseline", report.AVERAGE]
    assert frame.at["baseline", report.CHANGE] == 0.0
    assert frame.at["iso_pred", report.CHANGE] == pytest.approx(
        100 * (frame.at["iso_pred", report.AVERAGE] / baseline_average - 1)
    )
    assert frame.at["iso_pred", "isoscore"] == 0.4
    assert np.isnan(frame.at["baseline", "effective_rank"])  # not measured: NaN, shown as "–"
    assert frame.at["base", report.PARAMETERS] == 0
    assert frame.at["iso_pred", report.PARAMETERS] == 592_128


def test_missing_metrics_name_the_architecture_and_file(inputs) -> None:
    beir = dict(inputs["beir"])
    del beir["iso_pred"]
    with pytest.raises(DataError, match=r"'iso_pred'.*metrics/beir/iso_pred\.json"):
        report.build_comparison(ARCHS, beir, ISOTROPY, TRAIN, "baseline")
    with pytest.raises(DataError, match=r"'iso_pred'.*metrics/isotropy/iso_pred\.json"):
        report.build_comparison(ARCHS, inputs["beir"], {k: ISOTROPY[k] for k in ARCHS[:2]}, TRAIN, "baseline")
    with pytest.raises(DataError, match=r"'baseline'.*metrics/train/baseline\.json"):
        report.build_comparison(ARCHS, inputs["beir"], ISOTROPY, {"iso_pred": TRAIN["iso_pred"]}, "baseline")
    with pytest.raises(DataError, match=r"metrics/train/iso_pred\.json: key trainable_parameters"):
        report.build_comparison(ARCHS, inputs["beir"], ISOTROPY, {**TRAIN, "iso_pred": {"best_epoch": 1}},
                                "baseline")


def test_the_table_has_no_timing_column_and_ignores_a_legacy_seconds_key(inputs) -> None:
    # A duration is not a result: in a git-tracked table it would change on every retrain of equal weights.
    train = {arch: {**values, "seconds": 12.5} for arch, values in TRAIN.items()}
    frame = report.build_comparison(ARCHS, inputs["beir"], ISOTROPY, train, "baseline")
    assert not [column for column in frame.columns if "second" in column]


def test_inconsistent_or_malformed_metrics_are_rejected(inputs) -> None:
    beir = {**inputs["beir"], "iso_pred": {"scifact": inputs["beir"]["iso_pred"]["scifact"]}}
    with pytest.raises(DataError, match="differ from those of 'base'"):
        report.build_comparison(ARCHS, beir, ISOTROPY, TRAIN, "baseline")
    beir = {**inputs["beir"], "base": {d: {"ndcg@10": "high"} for d in DATASETS}}
    with pytest.raises(DataError, match=r"metrics/beir/base\.json: key scifact\.ndcg@10"):
        report.build_comparison(ARCHS, beir, ISOTROPY, TRAIN, "baseline")


# -------------------------------------------------------------------------------------------- markdown


def _markdown_rows(text: str) -> tuple[list[str], list[list[str]]]:
    lines = [line for line in text.splitlines() if line.startswith("|")]
    split = [[cell.strip() for cell in line.strip("|").split("|")] for line in lines]
    assert all(set(cell) <= set(":-") for cell in split[1])  # the GitHub separator row
    return split[0], split[2:]


def test_markdown_bolds_the_best_and_marks_significance(inputs) -> None:
    frame = _frame(inputs)
    sig = report.significance(inputs["per_query"], "baseline")
    header, rows = _markdown_rows(report.to_markdown(frame, sig))
    assert header == ["architecture", *report.value_columns(frame)]
    assert [row[0] for row in rows] == ARCHS
    for j, column in enumerate(report.value_columns(frame), start=1):
        bold = {row[0] for row in rows if row[j].startswith("**")}
        values = frame[column]
        if column == report.PARAMETERS or values.isna().all():
            assert bold == set()
        elif column == "mean_cosine":
            assert bold == {values.abs().idxmin()} == {"baseline"}
        else:
            assert values.idxmax() in bold
        daggers = {row[0] for row in rows if row[j].endswith("†")}
        dataset = column.removeprefix("ndcg@10 ")
        expected = {a for a in sig if column.startswith("ndcg@10 ") and sig[a][dataset][1]}
        assert daggers == expected
    assert rows[1][report.value_columns(frame).index("effective_rank") + 1] == report.MISSING


# ----------------------------------------------------------------------------------------------- latex


def _latex_body(fragment: str) -> list[list[str]]:
    lines = fragment.splitlines()
    body = lines[lines.index(r"\midrule") + 1 : lines.index(r"\bottomrule")]
    return [line.removesuffix(r" \\").split(" & ") for line in body]


def _strip_markup(cell: str) -> str:
    cell = cell.replace(r"$^{\dagger}$", "").replace("$-$", "-")
    return re.sub(r"\\textbf\{(.*)\}", r"\1", cell)


def test_latex_structure(inputs) -> None:
    frame = _frame(inputs)
    fragment = report.to_latex(frame, report.significance(inputs["per_query"], "baseline"), note="a note")
    assert "documentclass" not in fragment and r"\begin{document}" not in fragment
    assert fragment.count("{") == fragment.count("}")
    lines = fragment.splitlines()
    assert lines[0] == "% Caption note: a note"
    shown = len(report.value_columns(frame))
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
    frame = _frame(inputs)
    sig = report.significance(inputs["per_query"], "baseline")
    rows = _latex_body(report.to_latex(frame, sig))
    assert [row[0] for row in rows] == ["base", "baseline", r"iso\_pred"]
    hand = {arch: _hand_holm_two(_hand_p_values(inputs["per_query"], arch, "ttest")) for arch in ("base", "iso_pred")}
    for j, column in enumerate(report.value_columns(frame), start=1):
        cells = {arch: row[j] for arch, row in zip(ARCHS, rows)}
        bold = {arch for arch, cell in cells.items() if r"\textbf{" in cell}
        shown = {arch: _strip_markup(cell) for arch, cell in cells.items()}
        if column == report.PARAMETERS or frame[column].isna().all():
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
    frame = _frame(inputs)
    sig = report.significance(inputs["per_query"], "baseline")
    (tmp_path / "table.tex").write_text(report.to_latex(frame, sig), encoding="utf-8")
    note = report.latex_significance_note("baseline", "ttest", "holm", 0.05, len(DATASETS))
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


# ------------------------------------------------------------------------------------- report + figures


def test_write_report_writes_every_output(inputs, tmp_path) -> None:
    spectra = {arch: np.linspace(2.0, 0.1, 8) for arch in inputs["architectures"]}
    frame, notes = report.write_report(
        tmp_path / "reports", test="wilcoxon", correction="bonferroni", alpha=0.01, spectra=spectra, **inputs
    )
    out = tmp_path / "reports"
    assert sorted(p.name for p in out.iterdir()) == [  # nothing partial or temporary left behind
        "comparison.csv", "comparison.md", "comparison.tex", "eigenvalue_spectra.png", "isotropy_vs_ndcg.png"
    ]
    csv = pd.read_csv(out / "comparison.csv", index_col="architecture")
    pd.testing.assert_frame_equal(csv, frame, check_dtype=False, rtol=1e-9)
    markdown = (out / "comparison.md").read_text(encoding="utf-8")
    assert "Wilcoxon signed-rank test" in markdown and "Bonferroni correction" in markdown
    assert "α = 0.01" in markdown and "Datasets (2): scifact, set_50%" in markdown
    assert "- `iso_pred`: isotropic + predictor" in markdown
    tex = (out / "comparison.tex").read_text(encoding="utf-8")
    assert tex.startswith("% Caption note: $^{\\dagger}$") and "Wilcoxon" in tex and r"\toprule" in tex
    image = matplotlib.image.imread(out / "isotropy_vs_ndcg.png")
    assert image.ndim == 3 and image.shape[0] > 100


def test_write_report_refuses_a_missing_spectrum_before_writing(inputs, tmp_path) -> None:
    spectra = {arch: np.ones(4) for arch in inputs["architectures"][1:]}
    with pytest.raises(DataError, match=f"no eigenvalue spectrum for architecture.*{inputs['architectures'][0]}"):
        report.write_report(tmp_path / "reports", spectra=spectra, **inputs)
    assert not (tmp_path / "reports").exists() or not any((tmp_path / "reports").iterdir())


def test_write_report_writes_nothing_on_bad_input(inputs, tmp_path) -> None:
    inputs["per_query"] = {k: v for k, v in inputs["per_query"].items() if k != "iso_pred"}
    with pytest.raises(DataError, match="'iso_pred': no per-query NDCG@10"):
        report.write_report(tmp_path / "reports", **inputs)
    assert not (tmp_path / "reports").exists() or not any((tmp_path / "reports").iterdir())


def test_isotropy_vs_ndcg_figure_places_one_labelled_point_per_architecture(inputs) -> None:
    frame = _frame(inputs)
    figure = report.isotropy_vs_ndcg_figure(frame, x="effective_rank")
    axes = figure.axes[0]
    points = {tuple(np.round(c.get_offsets()[0], 9)) for c in axes.collections}
    expected = {
        (round(frame.at[arch, "effective_rank"], 9), round(frame.at[arch, report.AVERAGE], 9))
        for arch in ("base", "iso_pred")
    }
    assert points == expected
    assert {t.get_text() for t in axes.texts} == {"base", "iso_pred"}
    assert "baseline" in axes.get_xlabel()  # the architecture without the score is named, not dropped silently
    with pytest.raises(DataError, match="sigreg"):
        report.isotropy_vs_ndcg_figure(frame, x="sigreg")


def test_eigenvalue_spectra_share_one_log_axis_sorted_by_rank() -> None:
    figure = figures.eigenvalue_spectra_figure(
        {"iso_pred": np.array([0.5, 4.0, 0.0, 1.0, 1e-18]), "baseline": np.array([3.0, 2.0, 1.0, 0.25, 0.125]),
         "base": np.array([1.0, 0.0, 0.5])},
        "spectra",
    )
    axes = figure.axes[0]
    assert axes.get_yscale() == "log"
    (x_iso, y_iso), (x_base, y_base), _ = (line.get_data() for line in axes.lines)
    assert list(y_iso) == [4.0, 1.0, 0.5] and list(x_iso) == [1, 2, 3]
    assert list(y_base) == [3.0, 2.0, 1.0, 0.25, 0.125]
    labels = [text.get_text() for text in axes.get_legend().get_texts()]
    assert labels == ["iso_pred (2 zero eigenvalues not shown)", "baseline", "base (1 zero eigenvalue not shown)"]
    with pytest.raises(DataError, match="bad: eigenvalues must be finite and non-negative"):
        figures.eigenvalue_spectra_figure({"bad": np.array([1.0, -2.0])}, "spectra")
    with pytest.raises(DataError, match="bad: an eigenvalue spectrum must be a non-empty 1-D"):
        figures.eigenvalue_spectra_figure({"bad": np.ones((2, 2))}, "spectra")
    with pytest.raises(DataError, match="bad: every eigenvalue is zero"):
        figures.eigenvalue_spectra_figure({"bad": np.zeros(3)}, "spectra")


# ------------------------------------------------------------------------------------------------ seeds


def _seeded_beir(means: dict[str, list[float]]) -> dict:
    from ragcun.seeds import aggregate

    return {
        arch: {dataset: aggregate({s: {"ndcg@10": v, "map@100": 0.1, "recall@100": 0.2} for s, v in enumerate(values)})
               for dataset in DATASETS}
        for arch, values in means.items()
    }


def test_seed_spread_is_shown_and_small_differences_are_marked() -> None:
    # baseline 0.50 ± 0.02; iso_pred +0.01 (within the spread: marked); base is untrained (no ±, never marked).
    beir = _seeded_beir({"base": [0.30], "baseline": [0.48, 0.50, 0.52], "iso_pred": [0.50, 0.51, 0.52]})
    frame = report.build_comparison(ARCHS, beir, ISOTROPY, TRAIN, "baseline")
    assert frame.at["baseline", f"{report.AVERAGE}{report.STD}"] == pytest.approx(0.02)
    noise = report.within_seed_noise(frame, "baseline")
    assert noise == {"iso_pred"}
    header, rows = _markdown_rows(report.to_markdown(frame, None, noise))
    cells = {row[0]: dict(zip(header[1:], row[1:])) for row in rows}
    assert cells["baseline"]["ndcg@10 scifact"] == "0.5000 ± 0.0200"
    assert cells["base"]["ndcg@10 scifact"] == "0.3000"
    assert cells["iso_pred"][report.CHANGE].startswith(report.SEED_NOISE)
    assert not cells["base"][report.CHANGE].startswith(report.SEED_NOISE)
    tex = report.to_latex(frame, None, noise=noise)
    assert r"$\pm$0.0200" in tex and r"$\approx$" in tex
    # A difference larger than both spreads is not marked.
    far = report.build_comparison(
        ARCHS, _seeded_beir({"base": [0.3], "baseline": [0.48, 0.50, 0.52], "iso_pred": [0.60, 0.61, 0.62]}),
        ISOTROPY, TRAIN, "baseline")
    assert report.within_seed_noise(far, "baseline") == set()


def test_write_report_puts_the_flags_under_both_tables(inputs, tmp_path) -> None:
    train = {**TRAIN, "iso_pred": {**TRAIN["iso_pred"], "share_contrastive": 0.9995, "share_isotropy": 0.0005}}
    isotropy = {**ISOTROPY, "baseline": {**ISOTROPY["baseline"], "mean_cosine": 0.87, "effective_rank": 110.0}}
    weights = {arch: {"contrastive": 1.0, "isotropy": 1.5} for arch in ARCHS}
    spectra = {arch: np.linspace(2.0, 0.1, 384) for arch in ARCHS}
    frame, notes = report.write_report(tmp_path, spectra=spectra, weights=weights, seeds=3,
                                       **{**inputs, "train": train, "isotropy": isotropy})
    assert notes == [
        "baseline: collapsed (mean pairwise cosine 0.87 > 0.5).",
        "iso_pred: inert loss term(s) isotropy (0.05% of the loss) over the last epoch (< 1%).",
    ]
    markdown = (tmp_path / "comparison.md").read_text(encoding="utf-8")
    assert all(note in markdown for note in notes) and "over 3 training seeds" in markdown
    tex = (tmp_path / "comparison.tex").read_text(encoding="utf-8")
    assert r"iso\_pred: inert loss term(s) isotropy (0.05\% of the loss) over the last epoch ($<$ 1\%)." in tex
    summary = report.headline(frame)
    assert set(summary) == set(ARCHS)
    assert summary["iso_pred"]["isoscore"] == 0.4 and "ndcg@10" in summary["iso_pred"]


def test_the_dataset_trained_on_is_marked_in_domain_in_both_tables(inputs, tmp_path) -> None:
    report.write_report(tmp_path, in_domain="scifact", **inputs)
    markdown = (tmp_path / "comparison.md").read_text(encoding="utf-8")
    header = markdown.splitlines()[2]
    assert f"ndcg@10 scifact {report.IN_DOMAIN}" in header and f"set_50% {report.IN_DOMAIN}" not in header
    assert f"- {report.IN_DOMAIN} In-domain: the trained rows were trained on the train split of scifact" in markdown
    assert "train split of scifact" in (tmp_path / "comparison.tex").read_text(encoding="utf-8")
    # a dataset trained on but not evaluated marks nothing
    report.write_report(tmp_path, in_domain="nfcorpus", **inputs)
    assert report.IN_DOMAIN not in (tmp_path / "comparison.md").read_text(encoding="utf-8")
