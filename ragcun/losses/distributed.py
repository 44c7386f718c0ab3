"""The global batch under data parallelism: every process's head outputs, gathered with their gradients.

With N training processes each holds B/N rows of a global batch of B. InfoNCE's in-batch negatives and the
isotropy statistics (covariances, SIGReg's characteristic function, the std term) are functions of the whole
batch, so each process gathers every process's rows, in rank order, with ``torch.distributed.nn.functional.
all_gather``: unlike ``accelerate.gather`` (no autograd) its backward sends each gathered block's gradient back
to the process that owns those rows.

Gradient scale (why no loss is multiplied by N): every process computes the same loss L on the same gathered
batch. The backward of ``all_gather`` sums the gradients that all N processes computed for a block, so process
r receives N * dL/dZ_r for its own rows Z_r and backpropagates that into the shared weights; DDP then averages
the weight gradients over the N processes, which divides by N again: the update is sum_r dL/dZ_r * dZ_r/dθ,
exactly the one-process gradient of L on the same global batch (tests/losses/test_distributed_losses.py checks
values and gradients against one process).
"""

from __future__ import annotations

import dataclasses
import warnings

import torch
import torch.distributed as dist
from torch import Tensor

from ragcun.heads import HeadOutputs

# torch 2.13 marks this autograd gather deprecated in favour of a private module (_functional_collectives); it is
# still the documented gather that carries gradients, and the warning would repeat in every training process.
warnings.filterwarnings("ignore", message="torch.distributed.nn.functional.all_gather is deprecated",
                        category=FutureWarning)


def world_size() -> int:
    """Number of processes in the default process group, 1 when none was started."""
    return dist.get_world_size() if dist.is_available() and dist.is_initialized() else 1


def gather_with_grad(tensor: Tensor) -> Tensor:
    """Every process's ``tensor`` concatenated along dim 0 in rank order; gradients flow to the owners.

    All processes must pass tensors of the same shape (the equal shards of ``split_batches`` guarantee it).
    In one process the tensor is returned as it is.
    """
    if world_size() == 1:
        return tensor
    from torch.distributed.nn.functional import all_gather

    return torch.cat(all_gather(tensor.contiguous()), dim=0)


def touching_every_output(loss: Tensor, outputs: HeadOutputs) -> Tensor:
    """``loss`` plus 0 times every output tensor of the forward pass: the same value and gradients, but every
    parameter that produced an output gets a (zero) gradient.

    Why: DDP's reducer waits for a gradient of every parameter that took part in the forward pass, and a loss
    term that has weight 0 (computed without gradient, e.g. ``lambda_predictive: 0`` with a predictor) leaves
    its parameters without one, which stops the next step with "Expected to have finished reduction".
    ``find_unused_parameters`` does not help: it looks for parameters that produced no *output*, and the
    predictor's output is in ``HeadOutputs`` whether the loss uses it or not.
    """
    tensors = [value for field in dataclasses.fields(outputs)
               if isinstance(value := getattr(outputs, field.name), Tensor) and value.requires_grad]
    tensors += [z for z in outputs.isotropy_sets if z.requires_grad]
    if not tensors:
        return loss
    return loss + 0.0 * torch.stack([tensor.sum() for tensor in tensors]).sum().to(loss.dtype)


def global_batch(outputs: HeadOutputs) -> HeadOutputs:
    """The head outputs of the global batch: every tensor of ``outputs`` gathered over the processes.

    Rows keep the one-process order for queries, positives, negatives, predictions and targets (process r holds
    rows r*B/N .. (r+1)*B/N - 1 of the batch). A document isotropy set (positives then negatives, per process)
    comes out grouped by process instead; the isotropy and std losses are invariant to the order of rows.
    """
    if world_size() == 1:
        return outputs
    gathered = {}
    for field in dataclasses.fields(outputs):
        value = getattr(outputs, field.name)
        gathered[field.name] = gather_with_grad(value) if isinstance(value, Tensor) else value
    gathered["isotropy_sets"] = [gather_with_grad(z) for z in outputs.isotropy_sets]
    return HeadOutputs(**gathered)
