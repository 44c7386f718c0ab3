"""Run a function over items in forked child processes, a bounded number at a time, results in the items' order.

Used to train the seeds of one architecture at once on CPU (ragcun/steps/train.py). Fork, not spawn: a child
starts in milliseconds with the parent's imported libraries and loaded data (copy-on-write), and nothing has
to be pickled on the way in. Hand-written (~60 lines) because the standard pools each miss one thing this
needs: `multiprocessing.Pool` waits forever when a worker is killed (the kernel's OOM killer), and
`concurrent.futures.ProcessPoolExecutor` cannot stop the other workers when one fails before Python 3.14.
Here a child's exception is raised in the parent, a child that dies without an answer is an error naming its
item and exit code, and on any failure (Ctrl-C included) the children still running are terminated.

The caller must fork before any OpenMP thread pool exists in the parent (no torch computation yet): a
forked child cannot use a pool its parent had started.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.connection
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from ragcun.errors import RagcunError

Item = TypeVar("Item")
Result = TypeVar("Result")


class ChildProcessDied(RagcunError):
    """A forked child ended without sending its result (killed, or exited from C code)."""

    exit_code = 1


def _child(task: Callable[[Any], Any], item: Any, channel: multiprocessing.connection.Connection) -> None:
    try:
        outcome: tuple[bool, Any] = (True, task(item))
    except BaseException as error:  # KeyboardInterrupt too: the parent re-raises it
        outcome = (False, error)
    try:
        channel.send(outcome)
    except Exception as error:  # an unpicklable result or exception: send its text instead
        channel.send((False, RuntimeError(f"{type(outcome[1]).__name__}: {outcome[1]} ({error})")))
    finally:
        channel.close()


def map_in_forked_processes(
    task: Callable[[Item], Result], items: Sequence[Item], processes: int, describe: Callable[[Item], str] = str
) -> list[Result]:
    """``[task(item) for item in items]``, each call in its own forked process, at most ``processes`` at once."""
    if processes < 1:
        raise ValueError(f"processes must be >= 1, got {processes}")
    context = multiprocessing.get_context("fork")
    results: dict[int, Result] = {}
    waiting = list(enumerate(items))
    running: dict[multiprocessing.connection.Connection, tuple[int, multiprocessing.process.BaseProcess]] = {}
    try:
        while waiting or running:
            while waiting and len(running) < processes:
                index, item = waiting.pop(0)
                receiver, sender = context.Pipe(duplex=False)
                child = context.Process(target=_child, args=(task, item, sender))
                child.start()
                sender.close()  # the child holds the only sending end: its exit makes the receiver readable
                running[receiver] = (index, child)
            for receiver in multiprocessing.connection.wait(list(running)):
                index, child = running.pop(receiver)  # type: ignore[index]
                try:
                    succeeded, value = receiver.recv()  # type: ignore[union-attr]
                except EOFError:
                    child.join()
                    raise ChildProcessDied(
                        f"the process for {describe(items[index])} died without a result (exit code {child.exitcode})"
                    ) from None
                finally:
                    receiver.close()  # type: ignore[union-attr]
                child.join()
                if not succeeded:
                    raise value
                results[index] = value
    finally:
        for _, child in running.values():
            child.terminate()
        for _, child in running.values():
            child.join()
    return [results[index] for index in range(len(items))]
