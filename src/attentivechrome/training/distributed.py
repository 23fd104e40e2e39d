"""Training one model on several processes with PyTorch DDP (``torchrun``): gloo on CPU, NCCL on GPU.

The training genes are sharded: rank ``r`` of ``N`` keeps genes ``r, r + N, r + 2N, ...`` on its
device. Every rank draws the same global batches (the same seed) and computes the loss on the
genes of each batch it holds, weighted so that DDP's average over ranks is the global batch's
mean; DDP all-reduces the gradients and every rank takes the same optimiser step. So
``--batch-size`` stays the global batch and the weights equal a single process's (to float
rounding) for models without dropout layers. Every rank scores valid and test, so the epoch is
selected identically; only rank 0 writes the run directory.

Start it with ``torchrun --nproc-per-node N -m attentivechrome train --distributed ...``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch

from .. import _settings

#: What torchrun sets in every process it starts.
_TORCHRUN_VARIABLES = ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT")


@dataclass(frozen=True)
class Ranks:
    """This process's place in the group."""

    rank: int = 0
    world_size: int = 1
    device: torch.device = torch.device("cpu")

    @property
    def writes(self) -> bool:
        """Whether this rank writes files (rank 0 only)."""
        return self.rank == 0


def start(device: str = "auto") -> Ranks:
    """Join the process group that ``torchrun`` describes in the environment; return this rank's place.

    Raises
    ------
    ValueError
        When the process was not started by ``torchrun`` (or with its variables).
    """
    import torch.distributed as dist

    missing = [v for v in _TORCHRUN_VARIABLES if v not in os.environ]
    if missing:
        raise ValueError(
            f"--distributed needs the variables torchrun sets ({', '.join(missing)} missing); "
            "start it as `torchrun --nproc-per-node N -m attentivechrome train --distributed ...`"
        )
    resolved = _settings.resolve_device(device)
    if resolved.type == "cuda":
        resolved = torch.device("cuda", int(os.environ["LOCAL_RANK"]))
        torch.cuda.set_device(resolved)
    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if resolved.type == "cuda" else "gloo")
    _settings.single_threaded_worker()  # several ranks share the machine's cores
    return Ranks(rank=dist.get_rank(), world_size=dist.get_world_size(), device=resolved)


def stop() -> None:
    """Leave the process group (when one was joined)."""
    import torch.distributed as dist

    if dist.is_initialized():
        dist.destroy_process_group()


def wrap(module: torch.nn.Module, ranks: Ranks) -> torch.nn.Module:
    """The module under DDP (gradients all-reduced, averaged over ranks)."""
    from torch.nn.parallel import DistributedDataParallel

    device_ids = [ranks.device.index] if ranks.device.type == "cuda" else None
    return DistributedDataParallel(module, device_ids=device_ids, find_unused_parameters=False)


def sum_over_ranks(value: torch.Tensor) -> torch.Tensor:
    """``value`` summed over every rank (a copy)."""
    import torch.distributed as dist

    total = value.detach().clone()
    dist.all_reduce(total, op=dist.ReduceOp.SUM)
    return total
