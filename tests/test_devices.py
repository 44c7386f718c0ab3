"""Queued experiments each lock a GPU of their own."""

from __future__ import annotations

import subprocess
import sys

from ragcun.devices import claim_free_gpu


def test_a_second_process_gets_the_next_free_gpu_and_a_third_shares(tmp_path, monkeypatch):
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    assert claim_free_gpu(2, tmp_path) == 0
    code = (
        "import os, sys; from pathlib import Path; from ragcun.devices import claim_free_gpu; "
        f"print(claim_free_gpu(2, Path({str(tmp_path)!r})), os.environ.get('CUDA_VISIBLE_DEVICES'))"
    )
    env = {key: value for key, value in __import__("os").environ.items() if key != "CUDA_VISIBLE_DEVICES"}
    other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert other.stdout.split() == ["1", "1"]


def test_nothing_is_claimed_with_one_gpu_or_an_explicit_choice(tmp_path, monkeypatch):
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    assert claim_free_gpu(1, tmp_path) is None
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "3")
    assert claim_free_gpu(4, tmp_path) is None
