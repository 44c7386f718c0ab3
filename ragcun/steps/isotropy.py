"""The isotropy@ARCH stage: isotropy measures of the evaluation embeddings."""

from __future__ import annotations

import numpy as np

from ragcun import paths
from ragcun.config import Params
from ragcun.errors import DataError
from ragcun.io import write_json


def run(params: Params, name: str) -> None:
    from safetensors.numpy import load_file

    from ragcun.isotropy import eigenvalue_spectrum, measure_isotropy, sample_vectors, write_spectra

    path = paths.evaluation_outputs(name) / "vectors.safetensors"
    if not path.is_file():
        raise DataError(f"architecture {name!r}: no evaluation embeddings at {path}; run `dvc repro evaluate@{name}`")
    samples = load_file(str(path))
    config = params.isotropy
    result: dict[str, float] = {}
    spectra = {}
    for side, prefix, column in (("corpus", "", "documents"), ("queries", "query_", "queries")):
        pooled = np.concatenate([samples[f"{d}/{side}"] for d in params.evaluate.datasets])
        pooled = sample_vectors(pooled, config.max_vectors, config.seed)
        measures = measure_isotropy(pooled, seed=config.seed, sigreg_directions=config.sigreg_directions)
        result.update({f"{prefix}{key}": float(value) for key, value in measures.items()})
        spectra[column] = eigenvalue_spectrum(pooled)
    # Plain data, drawn by the report stage for all architectures at once (and by `dvc plots`): matplotlib
    # would add ~1 s to each of these per-architecture processes.
    write_spectra(paths.eigenvalue_spectra(name), spectra)
    write_json(paths.isotropy_metrics(name), result)
