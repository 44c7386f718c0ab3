"""Figures of the report stage, drawn on matplotlib's Agg canvas (no pyplot, no display)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.transforms import Bbox

from ragcun.errors import DataError
from ragcun.io import atomic_path
from ragcun.report.table import AVERAGE, datasets_of


def _checked_spectrum(spectrum: np.ndarray, name: str) -> np.ndarray:
    values = np.asarray(spectrum, dtype=np.float64)
    if values.ndim != 1 or values.size == 0:
        raise DataError(f"{name}: an eigenvalue spectrum must be a non-empty 1-D array, got shape {values.shape}")
    if not np.all(np.isfinite(values)) or np.any(values < 0):
        raise DataError(f"{name}: eigenvalues must be finite and non-negative")
    if not np.any(values > 0):
        raise DataError(f"{name}: every eigenvalue is zero")
    return np.sort(values)[::-1]


def eigenvalue_spectra_figure(spectra: Mapping[str, np.ndarray], title: str) -> Figure:
    """One line per architecture: covariance eigenvalues sorted descending, on a log-scale y axis.

    An isotropic embedding gives a flat line; a few dominant directions show as a steep head. Zero eigenvalues
    (a rank-deficient covariance) cannot be drawn on a log axis, and round-off leaves them at ~1e-18 instead of
    0: eigenvalues at or below numpy's numerical-rank tolerance (largest * size * machine epsilon) count as
    zero and the legend states how many were left out.
    """
    if not spectra:
        raise DataError(f"{title}: no eigenvalue spectra to draw")
    figure = Figure(figsize=(6.5, 4.5), layout="constrained")
    axes = figure.subplots()
    for name, spectrum in spectra.items():
        values = _checked_spectrum(spectrum, name)
        tolerance = values[0] * values.size * np.finfo(np.float64).eps
        positive = values[values > tolerance]
        zeros = values.size - positive.size
        label = name if zeros == 0 else f"{name} ({zeros} zero eigenvalue{'s' if zeros > 1 else ''} not shown)"
        axes.plot(np.arange(1, positive.size + 1), positive, linewidth=1.2, label=label)
    axes.set_yscale("log")
    axes.set_xlabel("rank")
    axes.set_ylabel("eigenvalue")
    axes.set_title(title)
    axes.grid(True, which="both", alpha=0.3)
    axes.legend(fontsize=7)
    return figure


def save_figure(figure: Figure, path: str | Path) -> None:
    # A bare Figure draws with the Agg canvas: no pyplot state, no display needed.
    with atomic_path(path) as staging:
        figure.savefig(staging, dpi=150)


# Offsets (points) tried in turn for a label: beside the point first, then above/below, then further out.
_LABEL_OFFSETS = ((6, 3), (6, -11), (-6, 3), (-6, -11), (0, 9), (0, -17), (10, 14), (10, -22), (-10, 14),
                  (-10, -22), (12, 26), (12, -34), (-12, 26), (-12, -34))


def place_labels(axes: Axes, points: Sequence[tuple[float, float, str]], fontsize: float = 8) -> list[Any]:
    """Annotate each (x, y, label) where its text overlaps no other label and no other point, trying the offsets
    of ``_LABEL_OFFSETS`` in order (a label moved away from its point gets a thin leader line).

    Hand-written: matplotlib has no label placement, and adjustText (the usual add-on) moves labels by an
    iterative force simulation whose result depends on its iteration count; this greedy search is deterministic,
    so the committed PNG is reproducible byte for byte. Returns the annotations."""
    figure = axes.figure
    if not isinstance(figure.canvas, FigureCanvasAgg):
        FigureCanvasAgg(figure)
    figure.canvas.draw()  # run the layout first: offsets are in points but overlaps are judged on screen
    renderer = figure.canvas.get_renderer()
    to_display = axes.transData.transform
    marker_radius = 6.0 * figure.dpi / 72
    markers = [Bbox.from_extents(*(to_display((x, y)) - marker_radius), *(to_display((x, y)) + marker_radius))
               for x, y, _ in points]
    frame = axes.get_window_extent(renderer)
    placed: list[Bbox] = []
    annotations = []
    for index, (x, y, label) in enumerate(points):
        obstacles = placed + [box for other, box in enumerate(markers) if other != index]
        best = None
        for rank, (dx, dy) in enumerate(_LABEL_OFFSETS):
            annotation = axes.annotate(
                label, (x, y), xytext=(dx, dy), textcoords="offset points", fontsize=fontsize,
                ha="left" if dx > 0 else "right" if dx < 0 else "center",
                arrowprops={"arrowstyle": "-", "lw": 0.5, "color": "0.5"} if rank >= 6 else None,
            )
            box = annotation.get_window_extent(renderer).padded(1.5)
            overlap = sum(_overlap_area(box, other) for other in obstacles) + (
                0.0 if frame.contains(box.x0, box.y0) and frame.contains(box.x1, box.y1) else box.width * box.height)
            if best is None or overlap < best[0]:
                if best is not None:
                    best[1].remove()
                best = (overlap, annotation, box)
            else:
                annotation.remove()
            if overlap == 0:
                break
        assert best is not None
        placed.append(best[2])
        annotations.append(best[1])
    return annotations


def _overlap_area(first: Bbox, second: Bbox) -> float:
    width = min(first.x1, second.x1) - max(first.x0, second.x0)
    height = min(first.y1, second.y1) - max(first.y0, second.y0)
    return width * height if width > 0 and height > 0 else 0.0


# Panels of the training-curves figure: each loss term per step, then dev MRR@10 per epoch.
TRAINING_PANELS = ("total", "contrastive", "isotropy", "predictive", "reg", "residual")


def plot_isotropy_vs_ndcg(
    frame: pd.DataFrame, path: str | Path, *, x: str = "isoscore", baseline: str | None = None
) -> None:
    """Save ``isotropy_vs_ndcg_figure`` to ``path`` (atomically)."""
    save_figure(isotropy_vs_ndcg_figure(frame, x=x, baseline=baseline), path)


def isotropy_vs_ndcg_figure(frame: pd.DataFrame, *, x: str = "isoscore", baseline: str | None = None) -> Figure:
    """Scatter of an isotropy score (x) against average NDCG@10 (y), one labelled point per architecture.

    Architectures without the score are left out and named in the figure, so the omission is visible.
    """
    if x not in frame.columns:
        raise DataError(f"the comparison table has no {x!r} column to plot")
    shown = frame[[x, AVERAGE]].dropna()
    if shown.empty:
        raise DataError(f"no architecture has an isotropy score {x!r} to plot")
    figure = Figure(figsize=(6.0, 4.5), layout="constrained")
    axes = figure.subplots()
    for arch, (x_value, y_value) in shown.iterrows():
        marker = "*" if arch == baseline else "o"
        axes.scatter([x_value], [y_value], marker=marker, s=80 if marker == "*" else 40, zorder=3)
    missing = [str(arch) for arch in frame.index if arch not in shown.index]
    axes.set_xlabel(x + (f"\n(not shown, no {x}: {', '.join(missing)})" if missing else ""))
    axes.set_ylabel("average NDCG@10")
    count = len(datasets_of(frame))
    axes.set_title(f"{x} vs average NDCG@10 ({count} dataset{'s' if count != 1 else ''})")
    axes.margins(0.15)  # room for the labels of the outermost points
    axes.grid(True, alpha=0.3)
    place_labels(axes, [(x_value, y_value, str(arch)) for arch, (x_value, y_value) in shown.iterrows()])
    return figure


def read_training_curves(folder: str | Path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """One architecture's DVCLive logs (``seed-*/plots/metrics/{train,dev}/*.tsv``) as metric → (steps, mean over
    seeds): the per-step loss terms and the per-epoch ``dev/mrr@10``. Seeds log the same steps; a metric some seed
    lacks is left out. An architecture that never trained (no seed folder) gives an empty mapping."""
    import pandas as pd

    seeds = sorted(Path(folder).glob("seed-*/plots/metrics"))
    names = [*(f"train/{name}" for name in TRAINING_PANELS), "dev/mrr@10"]
    curves: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for name in names:
        files = [seed / f"{name}.tsv" for seed in seeds]
        if not files or not all(file.is_file() for file in files):
            continue
        tables = [pd.read_csv(file, sep="\t") for file in files]
        steps = tables[0]["step"].to_numpy()
        if any(not np.array_equal(table["step"].to_numpy(), steps) for table in tables):
            raise DataError(f"{folder}: the seeds logged {name} at different steps")
        column = name.rsplit("/", 1)[1]
        curves[name] = (steps, np.mean([table[column].to_numpy(dtype=np.float64) for table in tables], axis=0))
    return curves


def training_curves_figure(curves: Mapping[str, Mapping[str, tuple[np.ndarray, np.ndarray]]]) -> Figure:
    """Every architecture's training on one figure: a panel per loss term (unweighted value per step) and one of
    dev MRR@10 per epoch, one line per architecture (mean over seeds). Drawn as an image because `dvc plots show`
    renders its vega plots with scripts from a CDN, which an offline machine shows as blank."""
    trained = {arch: arch_curves for arch, arch_curves in curves.items() if arch_curves}
    if not trained:
        raise DataError("no architecture has training logs to plot: run `dvc repro`")
    panels = [f"train/{name}" for name in TRAINING_PANELS
              if any(f"train/{name}" in arch_curves for arch_curves in trained.values())] + ["dev/mrr@10"]
    columns = 4
    rows = -(-len(panels) // columns)
    figure = Figure(figsize=(3.2 * columns, 2.6 * rows + 0.6), layout="constrained")
    grid = figure.subplots(rows, columns, squeeze=False)
    colours = {arch: f"C{index % 10}" for index, arch in enumerate(trained)}
    for axes, panel in zip(grid.flat, panels):
        for arch, arch_curves in trained.items():
            if panel in arch_curves:
                steps, values = arch_curves[panel]
                axes.plot(steps, values, color=colours[arch], label=arch, lw=1.0,
                          marker="o" if panel.startswith("dev/") else None, ms=3)
        axes.set_title(panel.replace("train/", "loss: ").replace("dev/", "dev "), fontsize=9)
        axes.set_xlabel("step", fontsize=8)
        axes.tick_params(labelsize=7)
        axes.grid(True, alpha=0.3)
    for axes in list(grid.flat)[len(panels):]:
        axes.set_visible(False)
    # One legend entry per architecture, from whichever panel it appears in (`base` only logs its dev score).
    entries: dict[str, Any] = {}
    for axes in grid.flat:
        for handle, label in zip(*axes.get_legend_handles_labels()):
            entries.setdefault(label, handle)
    labels = [arch for arch in trained if arch in entries]
    handles = [entries[arch] for arch in labels]
    figure.legend(handles, labels, loc="outside lower center", ncols=min(len(labels), 4), fontsize=8)
    figure.suptitle("training: loss terms per step, dev MRR@10 per epoch (mean over seeds)", fontsize=10)
    return figure
