"""The researcher's DVC workflow, with the real `dvc` CLI, in a temporary copy of the repository.

Small settings (a 200-passage sample, the tiny random transformer, three architectures, one epoch) keep it to
about a minute; the committed pipeline definition, stages and library are used as they are.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml

REPOSITORY = Path(__file__).resolve().parents[1]


def run(args: list[str], cwd: Path, check: bool = True) -> subprocess.CompletedProcess:
    environment = dict(os.environ, HF_HUB_OFFLINE="1", TOKENIZERS_PARALLELISM="false", DVC_NO_ANALYTICS="1",
                       PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    result = subprocess.run(args, cwd=cwd, capture_output=True, text=True, env=environment, timeout=900)
    if check and result.returncode != 0:
        raise AssertionError(f"{' '.join(args)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result


def small_params(model_dir: Path) -> dict:
    params = yaml.safe_load((REPOSITORY / "params.yaml").read_text(encoding="utf-8"))
    params["data"]["sample"] = {"seed": 13, "train_passages": 200, "train_queries": 60, "dev_queries": 20,
                                "eval_documents": 150, "eval_queries": 20}
    params["mining"].update({"top_k": 20, "rank_max": 15, "dev_candidates": 20, "n_jobs": 1})
    params["model"]["base"] = str(model_dir)
    params["train"].update({"epochs": 1, "batch_size": 16, "dev_queries": 20, "sigreg_directions": 16, "seeds": [0]})
    params["isotropy"].update({"max_vectors": 100, "sigreg_directions": 16})
    params["architectures"] = {name: params["architectures"][name] for name in ("base", "baseline", "isotropic")}
    return params


def new_project(root: Path, params: dict, prepare: Callable[[Path], None] | None = None) -> Path:
    """A git + DVC repository at ``root`` holding this checkout's pipeline code and ``params``; ``prepare`` adds
    files (a user's dataset) before the first commit."""
    for name in ("dvc.yaml", ".gitignore", ".dvcignore"):
        if (REPOSITORY / name).exists():
            shutil.copy(REPOSITORY / name, root / name)
    for folder in ("stages", "ragcun"):
        shutil.copytree(REPOSITORY / folder, root / folder, ignore=shutil.ignore_patterns("__pycache__"))
    (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False), encoding="utf-8")
    if prepare is not None:
        prepare(root)
    run(["git", "init", "-q"], root)
    run(["git", "config", "user.email", "test@example.invalid"], root)
    run(["git", "config", "user.name", "test"], root)
    run(["dvc", "init", "-q"], root)
    run(["dvc", "config", "core.autostage", "true"], root)
    run(["git", "add", "-A"], root)
    run(["git", "commit", "-qm", "pipeline"], root)
    return root


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory, tiny_english_model_dir: Path) -> Path:
    return new_project(tmp_path_factory.mktemp("dvc-project"), small_params(tiny_english_model_dir))


def stages_run(output: str) -> set[str]:
    return {line.split("'")[1] for line in output.splitlines() if line.startswith("Running stage '")}


EMBED_STAGES = ("embed-train", "embed-train-derived", "embed-eval@sample-eval")


def texts_encoded(result: subprocess.CompletedProcess) -> dict[str, int]:
    """Texts the base encoder ran on, per table, from the `embed NAME: encoded N texts` line each embed writes."""
    found = re.findall(r"^embed (\S+): encoded (\d+) texts$", result.stdout + result.stderr, flags=re.MULTILINE)
    return {name: int(count) for name, count in found}


def line_count(path: Path) -> int:
    return sum(1 for line in path.read_text(encoding="utf-8").splitlines() if line.strip())


@pytest.fixture(scope="module")
def reproduced(project: Path) -> subprocess.CompletedProcess:
    result = run(["dvc", "repro"], project)
    run(["git", "add", "-A"], project)
    run(["git", "commit", "-qm", "first run"], project)
    return result


def test_repro_runs_every_stage_and_writes_the_metrics_and_report(project, reproduced):
    ran = stages_run(reproduced.stdout)
    assert {"configure", "download", "mine", "embed-train", "embed-train-derived", "embed-eval@sample-eval",
            "train@isotropic", "evaluate@base", "report"} <= ran
    beir = json.loads((project / "metrics/beir/isotropic.json").read_text())
    metrics = {"ndcg@10", "map@100", "recall@100", "mrr@10"}
    assert set(beir["sample-eval"]) == metrics | {f"{key}_std" for key in metrics} | {"seeds", "qrels_unknown_documents"}
    assert beir["sample-eval"]["qrels_unknown_documents"] == 0
    assert set(beir["sample-eval"]["seeds"]["0"]) == metrics
    summary = json.loads((project / "metrics/summary.json").read_text())
    assert set(summary) == {"base", "baseline", "isotropic"}
    assert {"ndcg@10", "ndcg@10_std", "isoscore", "sigreg"} <= set(summary["isotropic"])
    assert (project / "reports/comparison.tex").read_text().count("\\toprule") == 1
    assert (project / "reports/spectra/isotropic.tsv").read_text().startswith("rank\tdocuments\tqueries\n1\t")
    assert (project / "reports/eigenvalue_spectra.png").stat().st_size > 0
    assert run(["dvc", "status", "-q"], project, check=False).returncode == 0


def test_dvc_plots_knows_the_curves_spectra_and_figures(project, reproduced):
    shown = json.loads(run(["dvc", "plots", "show", "--json"], project).stdout)
    names = " ".join(shown["data"])
    for expected in ("reports/spectra/isotropic.tsv", "reports/eigenvalue_spectra.png", "reports/isotropy_vs_ndcg.png",
                     "reports/training/isotropic/seed-0/plots/metrics"):
        assert expected in names, f"{expected} missing from `dvc plots show`: {sorted(shown['data'])}"


def test_a_second_repro_does_nothing(project, reproduced):
    again = run(["dvc", "repro"], project)
    assert stages_run(again.stdout) == set()


def test_exp_run_with_a_lambda_reruns_only_the_architectures_using_it(project, reproduced):
    result = run(["dvc", "exp", "run", "-S", "lambda_isotropy=0.7"], project)
    ran = stages_run(result.stdout)
    assert {"train@isotropic", "evaluate@isotropic", "report"} <= ran
    assert not ran & {"download", "mine", *EMBED_STAGES, "train@base", "train@baseline", "evaluate@baseline"}
    params = run(["dvc", "params", "diff", "--json"], project)
    change = json.loads(params.stdout)["params.yaml"]["lambda_isotropy"]
    assert (change["old"], change["new"]) == (1.5, 0.7)
    metrics = json.loads(run(["dvc", "metrics", "diff", "--json"], project).stdout)
    assert "metrics/train/isotropic.json" in metrics
    assert "metrics/isotropy/isotropic.json" in metrics  # measured by evaluate@isotropic on its new vectors
    assert "metrics/train/baseline.json" not in metrics


def test_a_code_edit_reruns_exactly_the_stages_that_import_the_file(project, reproduced):
    # code deps come through code-manifests/<module>.json (ragcun/code_manifest.py): the report alone imports
    # the Markdown renderer, every stage its own entry module, and no stage a file nothing imports
    restore_committed_run(project)
    edits = {
        project / "ragcun/report/markdown.py": {"code-manifests", "report"},
        project / "stages/mine.py": {"code-manifests", "mine"},
        project / "ragcun/scratch.py": {"code-manifests"},
    }
    for path, expected in edits.items():
        created = not path.exists()
        with path.open("a", encoding="utf-8") as handle:
            handle.write("\n# edited by a test\n")
        try:
            assert stages_run(run(["dvc", "repro"], project).stdout) == expected, path
        finally:
            if created:
                path.unlink()
            restore_committed_run(project)  # the tracked files, dvc.lock and the manifests as committed
    assert run(["dvc", "status", "-q"], project, check=False).returncode == 0


def test_bad_set_values_fail_with_the_validation_message_and_leave_the_workspace(project, reproduced):
    run(["git", "checkout", "--", "."], project)
    run(["dvc", "checkout", "-q"], project, check=False)
    before = (project / "params.yaml").read_text()
    for setting, message in (("train.batch_size=0", "train.batch_size: must be ≥ 2"),
                             # DVC itself refuses a key params.yaml lacks, before any stage runs
                             ("lambda_isotropi=1", "Could not override 'lambda_isotropi'")):
        # --temp runs the experiment outside the workspace; a plain `exp run -S` writes the value into the
        # workspace's params.yaml before any stage runs (DVC's behaviour), and `git checkout params.yaml` undoes it.
        result = run(["dvc", "exp", "run", "--temp", "-S", setting], project, check=False)
        assert result.returncode != 0
        assert message in result.stdout + result.stderr
        assert "Traceback" not in result.stdout + result.stderr
        assert (project / "params.yaml").read_text() == before
        assert run(["dvc", "status", "-q"], project, check=False).returncode == 0


def test_a_training_seed_change_reruns_training_only(project, reproduced):
    run(["git", "checkout", "--", "."], project)
    run(["dvc", "checkout", "-q"], project, check=False)
    result = run(["dvc", "exp", "run", "-S", "train.seeds=[0,1]"], project)
    ran = stages_run(result.stdout)
    assert {"train@isotropic", "train@baseline", "evaluate@isotropic", "report"} <= ran
    assert not ran & {"download", "mine", *EMBED_STAGES, "train@base", "evaluate@base"}
    beir = json.loads((project / "metrics/beir/isotropic.json").read_text())["sample-eval"]
    assert sorted(beir["seeds"]) == ["0", "1"]
    per_seed = [beir["seeds"][seed]["ndcg@10"] for seed in ("0", "1")]
    assert beir["ndcg@10"] == pytest.approx(sum(per_seed) / 2)
    assert "± " in (project / "reports/comparison.md").read_text()


def restore_committed_run(project: Path) -> None:
    # from HEAD, not the index: with core.autostage, `dvc repro` stages dvc.lock
    run(["git", "checkout", "HEAD", "--", "."], project)
    run(["dvc", "checkout", "-q", "--force"], project, check=False)


def folder_bytes(folder: Path) -> dict[str, bytes]:
    return {str(path.relative_to(folder)): path.read_bytes() for path in sorted(folder.rglob("*")) if path.is_file()}


def test_a_failed_validation_in_a_workspace_exp_run_deletes_no_tracked_file(project, reproduced):
    restore_committed_run(project)
    configs = folder_bytes(project / "configs")
    result = run(["dvc", "exp", "run", "-S", "train.batch_size=0"], project, check=False)
    assert result.returncode != 0
    assert "train.batch_size: must be ≥ 2" in result.stdout + result.stderr
    assert folder_bytes(project / "configs") == configs, "DVC removed configure's outputs before it failed"
    run(["git", "checkout", "--", "params.yaml"], project)
    assert run(["git", "status", "--porcelain", "configs", "metrics", "reports", "dvc.lock"], project).stdout == ""
    assert run(["dvc", "status", "-q"], project, check=False).returncode == 0


def test_a_corrupted_checkpoint_fails_in_one_line_and_keeps_the_tracked_metrics(project, reproduced):
    restore_committed_run(project)
    tracked = [project / "metrics/beir/isotropic.json", project / "metrics/train/isotropic.json"]
    metrics = {path: path.read_bytes() for path in tracked}
    weights = project / "models/isotropic/seed-0/model.safetensors"
    data = weights.read_bytes()
    weights.unlink()  # a new file: never write into a file that may be linked to DVC's cache
    weights.write_bytes(data[: len(data) // 2])
    try:
        result = run(["dvc", "repro", "-s", "evaluate@isotropic"], project, check=False)
        assert result.returncode != 0
        assert "error: models/isotropic/seed-0/model.safetensors: unreadable weights" in result.stderr
        assert "Traceback" not in result.stdout + result.stderr
        assert {path: path.read_bytes() for path in tracked} == metrics
    finally:
        restore_committed_run(project)
    assert run(["dvc", "status", "-q"], project, check=False).returncode == 0


@contextlib.contextmanager
def user_dataset(project: Path, name: str) -> Iterator[Path]:
    """A copy of sample-eval that a user put in data/beir/<name> (not made by any stage); afterwards it is removed
    and the committed run restored."""
    restore_committed_run(project)
    folder = project / "data/beir" / name
    shutil.copytree(project / "data/beir/sample-eval", folder)
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)
        restore_committed_run(project)


def test_exp_run_keeps_a_dataset_the_user_put_in_data_beir(project, reproduced):
    with user_dataset(project, "mine") as mine:
        before = folder_bytes(mine)
        run(["dvc", "exp", "run", "-S", "evaluate.datasets=[mine]"], project)
        assert folder_bytes(mine) == before
        assert set(json.loads((project / "metrics/beir/isotropic.json").read_text())) == {"mine"}


def test_a_data_seed_or_mining_change_encodes_nothing(project, reproduced):
    restore_committed_run(project)
    try:
        result = run(["dvc", "exp", "run", "-S", "seed=43", "-S", "mining.rank_min=2", "-S", "train.dev_queries=10"],
                     project)
        ran = stages_run(result.stdout)
        assert {"mine", "train@isotropic", "evaluate@isotropic"} <= ran
        assert not ran & {"embed-train", "embed-eval@sample-eval"}
        # the derived-texts stage depends on the data seed (masked copies); in mode pairs it has nothing to encode
        assert sum(texts_encoded(result).values()) == 0
        assert run(["dvc", "status", "-q"], project, check=False).returncode == 0
    finally:
        restore_committed_run(project)


def test_adding_a_dataset_encodes_exactly_that_dataset(project, reproduced):
    with user_dataset(project, "other-eval") as other:
        result = run(["dvc", "exp", "run", "-S", "evaluate.datasets=[sample-eval,other-eval]"], project)
        ran = stages_run(result.stdout)
        assert "embed-eval@other-eval" in ran
        assert not ran & set(EMBED_STAGES)
        assert texts_encoded(result) == {
            "other-eval/queries": line_count(other / "queries.jsonl"),
            "other-eval/corpus": line_count(other / "corpus.jsonl"),
        }
        metrics = json.loads((project / "metrics/beir/isotropic.json").read_text())
        assert set(metrics) == {"sample-eval", "other-eval"}
        # the same texts, the same vectors: the copy scores exactly like the original
        assert metrics["other-eval"]["ndcg@10"] == metrics["sample-eval"]["ndcg@10"]
        assert run(["dvc", "status", "-q"], project, check=False).returncode == 0


def test_a_changed_encoder_setting_reencodes_every_text(project, reproduced):
    restore_committed_run(project)
    try:
        result = run(["dvc", "exp", "run", "-S", "model.max_seq_length=16"], project)
        assert set(EMBED_STAGES) <= stages_run(result.stdout)
        train, evaluation = project / "data/train", project / "data/beir/sample-eval"
        assert texts_encoded(result) == {
            "train": line_count(train / "corpus.jsonl") + line_count(train / "queries.jsonl"),
            "train-derived": 0,
            "sample-eval/queries": line_count(evaluation / "queries.jsonl"),
            "sample-eval/corpus": line_count(evaluation / "corpus.jsonl"),
        }
        meta = json.loads((project / "data/embeddings/train/meta.json").read_text())
        assert meta["identity"]["max_seq_length"] == 16 and meta["settings"]["max_seq_length"] == 16
        assert run(["dvc", "status", "-q"], project, check=False).returncode == 0
    finally:
        restore_committed_run(project)
