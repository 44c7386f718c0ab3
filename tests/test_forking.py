"""map_in_forked_processes: results in order from other processes, bounded concurrency, failures surfaced."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from ragcun.forking import ChildProcessDied, map_in_forked_processes


def test_results_come_back_in_the_items_order_from_forked_children():
    parent = os.getpid()
    results = map_in_forked_processes(lambda n: (n * n, os.getpid()), [3, 1, 2], processes=2)
    assert [square for square, _ in results] == [9, 1, 4]
    assert all(pid != parent for _, pid in results)
    assert len({pid for _, pid in results}) == 3, "one fresh fork per item"


def test_no_more_than_the_given_number_of_children_run_at_once(tmp_path: Path):
    def record(item: int) -> tuple[float, float]:
        start = time.monotonic()
        time.sleep(0.3)
        return start, time.monotonic()

    spans = map_in_forked_processes(record, list(range(5)), processes=2)
    for moment in [start + 0.01 for start, _ in spans]:
        assert sum(start <= moment < end for start, end in spans) <= 2


def test_a_childs_exception_is_raised_in_the_parent_with_its_type_and_message():
    def fails_on_two(item: int) -> int:
        if item == 2:
            raise ValueError(f"bad item {item}")
        return item

    with pytest.raises(ValueError, match="bad item 2"):
        map_in_forked_processes(fails_on_two, [1, 2, 3], processes=2)


def test_a_killed_child_is_an_error_naming_its_item_and_the_others_are_stopped(tmp_path: Path):
    marker = tmp_path / "finished"

    def task(item: str) -> str:
        if item == "killed":
            os.kill(os.getpid(), signal.SIGKILL)
        time.sleep(5)
        marker.write_text("slow child ran to the end")
        return item

    started = time.monotonic()
    with pytest.raises(ChildProcessDied, match=r"the process for seed killed died without a result \(exit code -9\)"):
        map_in_forked_processes(task, ["slow", "killed"], processes=2, describe=lambda item: f"seed {item}")
    assert time.monotonic() - started < 4, "the slow child was terminated, not waited for"
    assert not marker.exists()


def test_processes_must_be_positive():
    with pytest.raises(ValueError, match="processes must be >= 1"):
        map_in_forked_processes(str, [1], processes=0)
