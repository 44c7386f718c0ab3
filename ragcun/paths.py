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


SUMMARY_METRICS = METRICS / "summary.json"  # per architecture: NDCG@10, IsoScore, SIGReg (mean and std)


def architecture_config(architecture: str) -> Path:
    return CONFIGS / f"{architecture}.json"


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
    """The architecture as a sentence-transformers model folder (the export@ARCH output)."""
    return EXPORTS / architecture


def checkpoint(architecture: str, seed: int) -> Path:
    return MODELS / architecture / f"seed-{seed}"


def train_metrics(architecture: str) -> Path:
    return METRICS / "train" / f"{architecture}.json"


def beir_metrics(architecture: str) -> Path:
    return METRICS / "beir" / f"{architecture}.json"


def isotropy_metrics(architecture: str) -> Path:
    return METRICS / "isotropy" / f"{architecture}.json"


def eigenvalue_spectra(architecture: str) -> Path:
    """TSV of the covariance eigenvalues of the documents and queries (git-tracked, `dvc plots` data)."""
    return REPORTS / "spectra" / f"{architecture}.tsv"


def training_log(architecture: str, seed: int | None = None) -> Path:
    """DVCLive's folder of one training run (per seed), or of the architecture (all seeds)."""
    folder = REPORTS / "training" / architecture
    return folder if seed is None else folder / f"seed-{seed}"


def evaluation_outputs(architecture: str) -> Path:
    """Per-query NDCG@10 averaged over seeds (the report's paired tests)."""
    return EVALUATION / architecture
