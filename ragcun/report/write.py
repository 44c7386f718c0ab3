"""The report stage's outputs, written together: ``comparison.md`` (GitHub table + legend), ``comparison.csv``
(raw numbers), ``comparison.tex`` (a booktabs ``tabular`` fragment for the paper), ``isotropy_vs_ndcg.png`` and
``eigenvalue_spectra.png``."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from ragcun import paths
from ragcun.config import Correction, SignificanceTest
from ragcun.errors import DataError
from ragcun.figures import eigenvalue_spectra_figure, isotropy_vs_ndcg_figure, save_figure
from ragcun.io import atomic_path
from ragcun.report.latex import latex_significance_note, to_latex
from ragcun.report.markdown import in_domain_note, markdown_report
from ragcun.report.statistics import significance
from ragcun.report.table import build_comparison, datasets_of, within_seed_noise

def to_csv(frame: pd.DataFrame) -> str:
    """The raw (unrounded) numbers; missing values are empty cells."""
    return frame.to_csv(float_format="%.10g")


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
    tables = ((paths.COMPARISON_MARKDOWN, markdown), (paths.COMPARISON_CSV, to_csv(frame)), (paths.COMPARISON_LATEX, latex))
    for path, text in tables:
        with atomic_path(out_dir / path.name) as staging:
            staging.write_text(text, encoding="utf-8")
    save_figure(figure, out_dir / paths.ISOTROPY_VS_NDCG_FIGURE.name)
    if spectra_figure is not None:
        save_figure(spectra_figure, out_dir / paths.SPECTRA_FIGURE.name)
    return frame, notes
