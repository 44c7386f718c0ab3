"""Where each stage reads and writes, relative to the repository root (the contract dvc.yaml declares)."""

from __future__ import annotations

from pathlib import Path

DATA = Path("data")
TRAIN_COLLECTION = DATA / "train"  # BEIR layout with qrels/train.tsv and qrels/dev.tsv
BEIR_ROOT = DATA / "beir"
MINED = DATA / "mined"
MINED_TRAIN = MINED / "train.jsonl"
MINED_DEV = MINED / "dev.jsonl"
EMBEDDINGS = DATA / "embeddings"
TRAIN_EMBEDDINGS = EMBEDDINGS / "train"  # every document and query of data/train
DERIVED_EMBEDDINGS = EMBEDDINGS / "train-derived"  # masked copies / halves of training documents
MODELS = Path("models")
EVALUATION = DATA / "evaluation"
METRICS = Path("metrics")
REPORTS = Path("reports")
RESUME = Path(".ragcun") / "resume"
CONFIGS = Path("configs")  # each architecture's effective settings, written by the configure stage
CODE_MANIFESTS = Path("code-manifests")  # each stage's code dependency, written by the code-manifests stage


SUMMARY_METRICS = METRICS / "summary.json"  # per architecture: NDCG@10, IsoScore, SIGReg (mean and std)
MINING_METRICS = METRICS / "mining.json"  # how many hard and random negatives the mine stage drew
TRAIN_METRICS = METRICS / "train"
BEIR_METRICS = METRICS / "beir"
ISOTROPY_METRICS = METRICS / "isotropy"
SPECTRA = REPORTS / "spectra"
TRAINING_LOGS = REPORTS / "training"

# The report stage's files (ragcun.report.write names its files after these, in whatever folder it is given)
COMPARISON_MARKDOWN = REPORTS / "comparison.md"
COMPARISON_CSV = REPORTS / "comparison.csv"
COMPARISON_LATEX = REPORTS / "comparison.tex"
ISOTROPY_VS_NDCG_FIGURE = REPORTS / "isotropy_vs_ndcg.png"
SPECTRA_FIGURE = REPORTS / "eigenvalue_spectra.png"
TRAINING_CURVES_FIGURE = REPORTS / "training_curves.png"


def architecture_config(architecture: str) -> Path:
    return CONFIGS / f"{architecture}.json"


def code_manifest(stage_module: str) -> Path:
    """The files stage module stages/<stage_module>.py imports, with their MD5s (ragcun/code_manifest.py)."""
    return CODE_MANIFESTS / f"{stage_module}.json"


def beir_folder(dataset: str) -> Path:
    return BEIR_ROOT / dataset


EVAL_EMBEDDINGS = EMBEDDINGS / "beir"


def eval_embeddings(dataset: str, part: str | None = None) -> Path:
    """One evaluation dataset's tables (the embed-eval@DATASET output), or its part 'corpus' or 'queries'."""
    folder = EVAL_EMBEDDINGS / dataset
    return folder if part is None else folder / part


def model_folder(architecture: str) -> Path:
    """One architecture's models: a checkpoint per training seed and the training summary."""
    return MODELS / architecture


EXPORTS = Path("exports")


def export_folder(architecture: str) -> Path:
    """The architecture as a sentence-transformers model folder (an output of evaluate@ARCH)."""
    return EXPORTS / architecture


def checkpoint(architecture: str, seed: int) -> Path:
    return model_folder(architecture) / f"seed-{seed}"


def train_metrics(architecture: str) -> Path:
    return TRAIN_METRICS / f"{architecture}.json"


def beir_metrics(architecture: str) -> Path:
    return BEIR_METRICS / f"{architecture}.json"


def isotropy_metrics(architecture: str) -> Path:
    return ISOTROPY_METRICS / f"{architecture}.json"


def eigenvalue_spectra(architecture: str) -> Path:
    """TSV of the covariance eigenvalues of the documents and queries (git-tracked, `dvc plots` data)."""
    return SPECTRA / f"{architecture}.tsv"


def training_log(architecture: str, seed: int | None = None) -> Path:
    """DVCLive's folder of one training run (per seed), or of the architecture (all seeds)."""
    folder = TRAINING_LOGS / architecture
    return folder if seed is None else folder / f"seed-{seed}"


def evaluation_outputs(architecture: str) -> Path:
    """Per-query NDCG@10 averaged over seeds (the report's paired tests)."""
    return EVALUATION / architecture
