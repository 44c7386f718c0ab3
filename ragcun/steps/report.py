"""The report stage: comparison table and figures from every architecture's metrics."""

from __future__ import annotations

import logging

from ragcun import paths
from ragcun.config import Params
from ragcun.errors import DataError
from ragcun.io import read_json, write_json

logger = logging.getLogger(__name__)


def run(params: Params) -> None:
    from ragcun.isotropy import read_spectra
    from ragcun.report.table import headline
    from ragcun.report.write import write_report

    names = list(params.architectures)
    beir, per_query, isotropy, train = {}, {}, {}, {}
    for name in names:
        for store, path in ((beir, paths.beir_metrics(name)), (isotropy, paths.isotropy_metrics(name)), (train, paths.train_metrics(name))):
            if not path.is_file():
                raise DataError(f"architecture {name!r} has no {path} yet: run `dvc repro`")
            store[name] = read_json(path)
        per_query[name] = read_json(paths.evaluation_outputs(name) / "per_query_ndcg@10.json")
    spectra = {name: read_spectra(paths.eigenvalue_spectra(name), require=("documents",))["documents"] for name in names}
    weights = {
        name: {key.removeprefix("lambda_"): value for key, value in params.architecture(name).lambdas.items()}
        for name in names
    }
    frame, notes = write_report(
        paths.REPORTS,
        weights=weights,
        seeds=len(params.train.seeds),
        beir=beir,
        per_query=per_query,
        isotropy=isotropy,
        train=train,
        spectra=spectra,
        descriptions={name: spec.description for name, spec in params.architectures.items()},
        architectures=names,
        baseline=params.report.baseline,
        test=params.report.significance,
        correction=params.report.correction,
        alpha=params.report.alpha,
        in_domain=params.data.in_domain_dataset(),
    )
    from ragcun.figures import read_training_curves, save_figure, training_curves_figure

    curves = {name: read_training_curves(paths.training_log(name)) for name in names}
    save_figure(training_curves_figure(curves), paths.TRAINING_CURVES_FIGURE)
    write_json(paths.SUMMARY_METRICS, headline(frame))
    # The same flags as under the table, on the console of `dvc repro`.
    for note in notes:
        logger.warning("%s", note)
