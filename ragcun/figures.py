"""Figures of the report stage, drawn on matplotlib's Agg canvas (no pyplot, no display)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from ragcun.errors import DataError
from ragcun.io import atomic_path


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
