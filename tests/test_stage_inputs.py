"""Bad input is caught by the stage that first reads it, before any expensive work."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import project_helpers

from ragcun import paths
from ragcun.config import load_params
from ragcun.encoder import BaseEncoder
from ragcun.errors import DataError
from ragcun.steps.download import run as run_download
from ragcun.steps.embed import run as run_embed

SMALL_SAMPLE = {"train_passages": 100, "train_queries": 10, "dev_queries": 10, "eval_documents": 100, "eval_queries": 10}


def break_line(path: Path, line_number: int) -> None:
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    lines[line_number - 1] = '{"_id": "broken", "text": \n'
    path.write_text("".join(lines), encoding="utf-8")


def test_download_parses_a_present_dataset_in_full_and_names_the_bad_line(tiny_project):
    project_helpers.set_params(Path("params.yaml"), data__sample=SMALL_SAMPLE)
    break_line(paths.beir_folder("tiny-eval") / "corpus.jsonl", 30)
    with pytest.raises(DataError, match=r"tiny-eval/corpus\.jsonl:30: malformed JSON"):
        run_download(load_params())


def test_download_refuses_qrels_of_a_present_dataset_that_point_mostly_nowhere(tiny_project):
    project_helpers.set_params(Path("params.yaml"), data__sample=SMALL_SAMPLE)
    (paths.beir_folder("tiny-eval") / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\nt0\tnowhere\t1\n")
    with pytest.raises(DataError, match=r"'tiny-eval': 1 of 1 judgements"):
        run_download(load_params())


def test_embed_checks_every_dataset_before_encoding_anything(tiny_project, monkeypatch):
    calls: list[int] = []
    original = BaseEncoder.forward

    def counting(self: BaseEncoder, *args: object, **kwargs: object) -> torch.Tensor:
        calls.append(1)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(BaseEncoder, "forward", counting)
    break_line(paths.beir_folder("tiny-eval") / "corpus.jsonl", 30)
    with pytest.raises(DataError, match=r"tiny-eval/corpus\.jsonl:30: malformed JSON"):
        run_embed(load_params())
    assert not calls, "nothing was encoded"
    assert not paths.EMBEDDINGS.exists(), "no embeddings were written"
