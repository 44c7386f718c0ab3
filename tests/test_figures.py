"""The report's figures: the isotropy-vs-NDCG scatter (crowded points still get labels that do not overlap), the
eigenvalue spectra and the training curves."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from report_inputs import comparison_frame, report_inputs

from ragcun.errors import DataError
from ragcun.figures import (
    eigenvalue_spectra_figure, isotropy_vs_ndcg_figure, place_labels, read_training_curves, training_curves_figure,
)
from ragcun.report.table import AVERAGE


def _crowded_axes():
    figure = Figure(figsize=(6.0, 4.5), layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.subplots()
    # The committed table's cluster: three architectures within 0.006 isoscore and 0.01 NDCG of each other.
    points = [(0.1278, 0.6075, "isotropic_predictor"), (0.1285, 0.6002, "isotropic"),
              (0.1334, 0.6023, "residual_gaussian"), (0.1224, 0.4445, "asymmetric_dual"),
              (0.1204, 0.4235, "asymmetric_predictor"), (0.085, 0.605, "baseline"), (0.108, 0.641, "base")]
    axes.scatter([x for x, _, _ in points], [y for _, y, _ in points])
    axes.margins(0.15)
    return figure, axes, points


def test_labels_of_crowded_points_do_not_overlap_each_other():
    figure, axes, points = _crowded_axes()
    annotations = place_labels(axes, points)
    figure.canvas.draw()
    renderer = figure.canvas.get_renderer()
    boxes = [annotation.get_window_extent(renderer) for annotation in annotations]
    assert [annotation.get_text() for annotation in annotations] == [label for _, _, label in points]
    for first, second in itertools.combinations(boxes, 2):
        assert not first.overlaps(second)


def test_the_fixed_offset_the_report_used_before_does_overlap_here():
    # The same points labelled at one fixed offset (the old report) collide: the test above is not vacuous.
    figure, axes, points = _crowded_axes()
    texts = [axes.annotate(label, (x, y), xytext=(5, 4), textcoords="offset points", fontsize=8)
             for x, y, label in points]
    figure.canvas.draw()
    renderer = figure.canvas.get_renderer()
    boxes = [text.get_window_extent(renderer) for text in texts]
    assert any(first.overlaps(second) for first, second in itertools.combinations(boxes, 2))


def test_isotropy_vs_ndcg_figure_places_one_labelled_point_per_architecture() -> None:
    frame = comparison_frame(report_inputs())
    figure = isotropy_vs_ndcg_figure(frame, x="effective_rank")
    axes = figure.axes[0]
    points = {tuple(np.round(c.get_offsets()[0], 9)) for c in axes.collections}
    expected = {
        (round(frame.at[arch, "effective_rank"], 9), round(frame.at[arch, AVERAGE], 9))
        for arch in ("base", "iso_pred")
    }
    assert points == expected
    assert {t.get_text() for t in axes.texts} == {"base", "iso_pred"}
    assert "baseline" in axes.get_xlabel()  # the architecture without the score is named, not dropped silently
    with pytest.raises(DataError, match="sigreg"):
        isotropy_vs_ndcg_figure(frame, x="sigreg")


def test_eigenvalue_spectra_share_one_log_axis_sorted_by_rank() -> None:
    figure = eigenvalue_spectra_figure(
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
        eigenvalue_spectra_figure({"bad": np.array([1.0, -2.0])}, "spectra")
    with pytest.raises(DataError, match="bad: an eigenvalue spectrum must be a non-empty 1-D"):
        eigenvalue_spectra_figure({"bad": np.ones((2, 2))}, "spectra")
    with pytest.raises(DataError, match="bad: every eigenvalue is zero"):
        eigenvalue_spectra_figure({"bad": np.zeros(3)}, "spectra")



def _write_log(folder, seed: int, metric: str, steps, values) -> None:
    path = folder / f"seed-{seed}" / "plots" / "metrics" / f"{metric}.tsv"
    path.parent.mkdir(parents=True, exist_ok=True)
    column = metric.rsplit("/", 1)[1]
    path.write_text(f"step\t{column}\n" + "".join(f"{s}\t{v}\n" for s, v in zip(steps, values)), encoding="utf-8")


def test_training_curves_average_the_seeds_and_draw_every_architecture(tmp_path):

    trained = tmp_path / "trained"
    _write_log(trained, 0, "train/contrastive", [1, 2, 3], [3.0, 2.0, 1.0])
    _write_log(trained, 1, "train/contrastive", [1, 2, 3], [5.0, 4.0, 3.0])
    for seed in (0, 1):
        _write_log(trained, seed, "dev/mrr@10", [3], [0.5 + seed / 10])
    _write_log(trained, 0, "train/isotropy", [1, 2, 3], [1.0, 1.0, 1.0])  # only one seed logged it: left out
    untrained = tmp_path / "untrained"
    _write_log(untrained, 0, "dev/mrr@10", [0], [0.4])
    curves = read_training_curves(trained)
    assert set(curves) == {"train/contrastive", "dev/mrr@10"}
    np.testing.assert_allclose(curves["train/contrastive"][1], [4.0, 3.0, 2.0])
    np.testing.assert_allclose(curves["dev/mrr@10"][1], [0.55])
    figure = training_curves_figure({"trained": curves, "untrained": read_training_curves(untrained),
                                     "never": read_training_curves(tmp_path / "missing")})
    visible = [axes for axes in figure.axes if axes.get_visible()]
    assert [axes.get_title() for axes in visible] == ["loss: contrastive", "dev mrr@10"]
    assert [text.get_text() for text in figure.legends[0].get_texts()] == ["trained", "untrained"]
    _write_log(trained, 1, "train/contrastive", [1, 2, 4], [5.0, 4.0, 3.0])
    with pytest.raises(DataError, match="different steps"):
        read_training_curves(trained)
    with pytest.raises(DataError, match="no architecture"):
        training_curves_figure({"never": {}})
