"""Label placement of the report's scatter: crowded points still get labels that do not overlap."""

from __future__ import annotations

import itertools

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from ragcun.figures import place_labels


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
