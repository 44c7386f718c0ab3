"""Tests of ragcun.report.write: every output written, nothing written on bad input, the flags and the
in-domain mark under both tables."""

from __future__ import annotations

import matplotlib.image
import numpy as np
import pandas as pd
import pytest
from report_inputs import ARCHS, ISOTROPY, TRAIN

from ragcun.errors import DataError
from ragcun.report.markdown import IN_DOMAIN
from ragcun.report.table import headline
from ragcun.report.write import write_report


def test_write_report_writes_every_output(inputs, tmp_path) -> None:
    spectra = {arch: np.linspace(2.0, 0.1, 8) for arch in inputs["architectures"]}
    frame, notes = write_report(
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
        write_report(tmp_path / "reports", spectra=spectra, **inputs)
    assert not (tmp_path / "reports").exists() or not any((tmp_path / "reports").iterdir())


def test_write_report_writes_nothing_on_bad_input(inputs, tmp_path) -> None:
    inputs["per_query"] = {k: v for k, v in inputs["per_query"].items() if k != "iso_pred"}
    with pytest.raises(DataError, match="'iso_pred': no per-query NDCG@10"):
        write_report(tmp_path / "reports", **inputs)
    assert not (tmp_path / "reports").exists() or not any((tmp_path / "reports").iterdir())


def test_write_report_puts_the_flags_under_both_tables(inputs, tmp_path) -> None:
    train = {**TRAIN, "iso_pred": {**TRAIN["iso_pred"], "share_contrastive": 0.9995, "share_isotropy": 0.0005}}
    isotropy = {**ISOTROPY, "baseline": {**ISOTROPY["baseline"], "mean_cosine": 0.87, "effective_rank": 110.0}}
    weights = {arch: {"contrastive": 1.0, "isotropy": 1.5} for arch in ARCHS}
    spectra = {arch: np.linspace(2.0, 0.1, 384) for arch in ARCHS}
    frame, notes = write_report(tmp_path, spectra=spectra, weights=weights, seeds=3,
                                       **{**inputs, "train": train, "isotropy": isotropy})
    assert notes == [
        "baseline: collapsed (mean pairwise cosine 0.87 > 0.5).",
        "iso_pred: inert loss term(s) isotropy (0.05% of the loss) over the last epoch (< 1%).",
    ]
    markdown = (tmp_path / "comparison.md").read_text(encoding="utf-8")
    assert all(note in markdown for note in notes) and "over 3 training seeds" in markdown
    tex = (tmp_path / "comparison.tex").read_text(encoding="utf-8")
    assert r"iso\_pred: inert loss term(s) isotropy (0.05\% of the loss) over the last epoch ($<$ 1\%)." in tex
    summary = headline(frame)
    assert set(summary) == set(ARCHS)
    assert summary["iso_pred"]["isoscore"] == 0.4 and "ndcg@10" in summary["iso_pred"]


def test_the_dataset_trained_on_is_marked_in_domain_in_both_tables(inputs, tmp_path) -> None:
    write_report(tmp_path, in_domain="scifact", **inputs)
    markdown = (tmp_path / "comparison.md").read_text(encoding="utf-8")
    header = markdown.splitlines()[2]
    assert f"ndcg@10 scifact {IN_DOMAIN}" in header and f"set_50% {IN_DOMAIN}" not in header
    assert f"- {IN_DOMAIN} In-domain: the trained rows were trained on the train split of scifact" in markdown
    assert "train split of scifact" in (tmp_path / "comparison.tex").read_text(encoding="utf-8")
    # a dataset trained on but not evaluated marks nothing
    write_report(tmp_path, in_domain="nfcorpus", **inputs)
    assert IN_DOMAIN not in (tmp_path / "comparison.md").read_text(encoding="utf-8")
