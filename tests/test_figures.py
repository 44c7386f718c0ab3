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


def _write_log(folder, seed: int, metric: str, steps, values) -> None:
    path = folder / f"seed-{seed}" / "plots" / "metrics" / f"{metric}.tsv"
    path.parent.mkdir(parents=True, exist_ok=True)
    column = metric.rsplit("/", 1)[1]
    path.write_text(f"step\t{column}\n" + "".join(f"{s}\t{v}\n" for s, v in zip(steps, values)), encoding="utf-8")


def test_training_curves_average_the_seeds_and_draw_every_architecture(tmp_path):
    import numpy as np
    import pytest

    from ragcun.errors import DataError
    from ragcun.figures import read_training_curves, training_curves_figure

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
