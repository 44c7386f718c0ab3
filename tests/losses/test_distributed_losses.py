"""Losses on the global batch: with 2 gloo processes, each holding half of a batch, the gathered InfoNCE, SIGReg
and combined losses and the DDP-averaged weight gradients equal those of one process on the whole batch."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from safetensors.torch import load_file, save_file
from torch.nn.parallel import DistributedDataParallel

from ragcun.heads import HeadsSpec, RetrievalHeads
from ragcun.losses import LossWeights, combine_losses
from ragcun.losses.contrastive import info_nce
from ragcun.losses.distributed import global_batch, touching_every_output, world_size
from ragcun.losses.sigreg import sigreg

BATCH, NEGATIVES, DIM = 8, 2, 6
WEIGHTS = LossWeights(contrastive=1.0, isotropy=1.5, predictive=1.2, reg=0.1, residual=0.01)
# One loss per backward pass: "total" is combine_losses' sum; the others isolate one global-batch statistic.
LOSSES = ("total", "info_nce", "sigreg", "shape", "std")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _batch() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(3)
    queries = torch.randn(BATCH, DIM, generator=generator, dtype=torch.float64)
    positives = queries + 0.5 * torch.randn(BATCH, DIM, generator=generator, dtype=torch.float64)
    negatives = torch.randn(BATCH, NEGATIVES, DIM, generator=generator, dtype=torch.float64)
    return queries, positives, negatives


def _heads() -> RetrievalHeads:
    # Dropout 0: a dropout mask is drawn per process, so with dropout the halves could not match one process.
    spec = HeadsSpec(shared_head=True, predictor="residual", ema_target=False, ema_decay=0.999, score="euclidean",
                     query_uses_predictor=False, use_head=True, in_dim=DIM, out_dim=DIM, dropout=0.0)
    torch.manual_seed(0)
    return RetrievalHeads(spec).double()


def _loss(name: str, outputs, kind: str) -> torch.Tensor:
    if name == "total":
        return combine_losses(outputs, WEIGHTS, isotropy_kind=kind, temperature=2.0, score="euclidean",
                              target_std=1.0, generator=torch.Generator().manual_seed(11), sigreg_directions=16)["total"]
    if name == "info_nce":
        return info_nce(outputs.query, outputs.positive, outputs.negative, temperature=2.0, score="euclidean")
    documents = outputs.isotropy_sets[1]
    if name == "sigreg":
        # The same seed on every process: the SIGReg directions must be identical everywhere.
        return sigreg(documents, num_directions=16, generator=torch.Generator().manual_seed(5))
    if name == "shape":
        from ragcun.losses.covariance import shape_isotropy

        return shape_isotropy(outputs.isotropy_sets[0])
    from ragcun.losses.regularization import std_regularization

    return std_regularization(documents, 1.0)


def _values_and_gradients(rank: int, processes: int, kind: str) -> dict[str, torch.Tensor]:
    heads = _heads()
    model = DistributedDataParallel(heads) if processes > 1 else heads
    queries, positives, negatives = _batch()
    rows = slice(rank * BATCH // processes, (rank + 1) * BATCH // processes)
    result: dict[str, torch.Tensor] = {}
    for name in LOSSES:
        heads.zero_grad(set_to_none=False)
        local = model(queries[rows], positives[rows], negatives[rows])
        outputs = global_batch(local)
        # The single-statistic losses leave the predictor without a gradient, which DDP refuses.
        loss = touching_every_output(_loss(name, outputs, kind), local)
        loss.backward()
        result[f"{name}/value"] = loss.detach().reshape(1)
        result[f"{name}/rows"] = torch.tensor([float(outputs.query.shape[0])], dtype=torch.float64)
        for parameter_name, parameter in heads.named_parameters():
            result[f"{name}/grad/{parameter_name}"] = parameter.grad.detach().clone()
    return result


def _worker(rank: int, processes: int, port: int, kind: str, folder: str) -> None:
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=processes)
    try:
        assert world_size() == processes
        save_file(_values_and_gradients(rank, processes, kind), str(Path(folder) / f"rank{rank}.safetensors"))
    finally:
        dist.destroy_process_group()


@pytest.mark.parametrize("kind", ["sigreg", "shape"])
def test_gathered_losses_and_gradients_equal_one_process_on_the_global_batch(tmp_path, kind):
    mp.spawn(_worker, args=(2, _free_port(), kind, str(tmp_path)), nprocs=2, join=True)
    single = _values_and_gradients(0, 1, kind)
    per_rank = [load_file(str(tmp_path / f"rank{rank}.safetensors")) for rank in range(2)]
    for name in LOSSES:
        assert single[f"{name}/value"].item() > 0, f"{name} is a real, non-zero loss"
    for rank_result in per_rank:
        assert set(rank_result) == set(single)
        for key, expected in single.items():
            if key.endswith("/rows"):
                assert rank_result[key].item() == BATCH, "every process sees the global batch"
                continue
            # float64 throughout: the only difference is the order of summation (DDP's average, the gather).
            torch.testing.assert_close(rank_result[key], expected, rtol=1e-10, atol=1e-12, msg=key)
    # A gradient that is not scaled correctly differs by a factor of 2 (the world size): the check can fail.
    gradient = single["total/grad/query_head.net.0.weight"]
    assert gradient.abs().max() > 1e-6
