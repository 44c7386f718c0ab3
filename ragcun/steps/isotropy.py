"""The isotropy@ARCH stage: isotropy measures of the evaluation embeddings."""

from __future__ import annotations

import numpy as np

from ragcun import paths
from ragcun.config import Params
from ragcun.errors import DataError
from ragcun.io import write_json


def run(params: Params, name: str) -> None:
    """Isotropy measures of each training seed's evaluation embeddings (documents and queries of all
    datasets pooled), as mean, std and per-seed values; the spectra are averaged over seeds rank by rank."""
    from safetensors.numpy import load_file

    from ragcun.isotropy import eigenvalue_spectrum, measure_isotropy, sample_vectors, write_spectra
    from ragcun.seeds import aggregate, seed_label

    path = paths.evaluation_outputs(name) / "vectors.safetensors"
    if not path.is_file():
        raise DataError(f"architecture {name!r}: no evaluation embeddings at {path}; run `dvc repro evaluate@{name}`")
    samples = load_file(str(path))
    config = params.isotropy
    per_seed: dict[int, dict[str, float]] = {}
    spectra: dict[str, list[np.ndarray]] = {"documents": [], "queries": []}
    for seed in params.architecture(name).seeds:
        result: dict[str, float] = {}
        for side, prefix, column in (("corpus", "", "documents"), ("queries", "query_", "queries")):
            keys = [f"{seed_label(seed)}/{d}/{side}" for d in params.evaluate.datasets]
            missing = [key for key in keys if key not in samples]
            if missing:
                raise DataError(f"{path}: no embeddings {missing[0]!r}; run `dvc repro evaluate@{name}`")
            pooled = sample_vectors(np.concatenate([samples[key] for key in keys]), config.max_vectors, config.seed)
            measures = measure_isotropy(pooled, seed=config.seed, sigreg_directions=config.sigreg_directions)
            result.update({f"{prefix}{key}": float(value) for key, value in measures.items()})
            spectra[column].append(eigenvalue_spectrum(pooled))
        per_seed[seed] = result
    # Plain data, drawn by the report stage for all architectures at once (and by `dvc plots`): matplotlib
    # would add ~1 s to each of these per-architecture processes.
    write_spectra(paths.eigenvalue_spectra(name), {column: np.mean(values, axis=0) for column, values in spectra.items()})
    write_json(paths.isotropy_metrics(name), aggregate(per_seed))
