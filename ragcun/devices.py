"""One GPU per queued experiment: DVC's queue workers do not assign devices, so each stage that needs a GPU
takes the first free one under an exclusive file lock (held until the process exits) and hides the others."""

from __future__ import annotations

import fcntl
import logging
import os
import tempfile
from pathlib import Path
from typing import IO

logger = logging.getLogger(__name__)

_held: list[IO[bytes]] = []  # keeps the lock files open (so locked) for the life of the process


def claim_free_gpu(device_count: int, lock_dir: Path | None = None) -> int | None:
    """Lock and select a free GPU of `device_count`; None when CUDA_VISIBLE_DEVICES is already set, there is
    at most one GPU, or every GPU is taken (then all stay visible and the stage shares them)."""
    if device_count <= 1 or "CUDA_VISIBLE_DEVICES" in os.environ:
        return None
    folder = lock_dir or Path(tempfile.gettempdir()) / "ragcun-gpu-locks"
    folder.mkdir(parents=True, exist_ok=True)
    for index in range(device_count):
        handle = (folder / f"gpu{index}.lock").open("wb")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            continue
        _held.append(handle)
        os.environ["CUDA_VISIBLE_DEVICES"] = str(index)
        logger.info("using GPU %d (locked %s)", index, folder / f"gpu{index}.lock")
        return index
    logger.warning("all %d GPUs are locked by other experiments; sharing them", device_count)
    return None


def select_device() -> None:
    """Call before CUDA is initialised: counts GPUs without creating a CUDA context, then claims one."""
    import torch

    claim_free_gpu(torch.cuda.device_count())


def compute_device() -> str:
    """Where the stage computes: the (first visible) GPU when there is one, else the CPU."""
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"
