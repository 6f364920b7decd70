"""Training on several processes: ``fxr fit`` under ``torchrun``.

``torchrun --nproc-per-node N fxr fit ...`` (and its multi-node arguments)
starts N copies of the command with ``RANK``, ``WORLD_SIZE`` and
``LOCAL_RANK`` set. Each copy joins one process group (NCCL between GPUs,
Gloo on CPUs), takes its slice of every global batch, and DDP averages the
gradients, so the processes together take the steps that one process would
take with the same global batch. Only rank 0 writes the run directory and
prints.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist

from fxregistry.errors import FxrError

__all__ = ["World", "SINGLE", "join", "device_spec_for"]


@dataclass(frozen=True)
class World:
    """This process's place among the training processes."""

    rank: int = 0
    size: int = 1
    local_rank: int = 0
    local_size: int = 1

    @property
    def main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.size > 1

    def barrier(self) -> None:
        if self.distributed:
            dist.barrier()

    def sum(self, *values: float) -> list[float]:
        """Each value summed over all processes."""
        if not self.distributed:
            return list(values)
        # Gloo reduces CPU tensors, NCCL CUDA ones: reduce where the backend lives.
        device = "cuda" if dist.get_backend() == "nccl" else "cpu"
        tensor = torch.tensor(values, dtype=torch.float64, device=device)
        dist.all_reduce(tensor)
        return tensor.tolist()


SINGLE = World()


def join(device_spec: str) -> World:
    """Join the process group torchrun set up, if any; a single process otherwise."""
    size = int(os.environ.get("WORLD_SIZE", "1"))
    if size <= 1:
        return SINGLE
    try:
        rank, local_rank = int(os.environ["RANK"]), int(os.environ["LOCAL_RANK"])
        local_size = int(os.environ.get("LOCAL_WORLD_SIZE", size))
    except (KeyError, ValueError):
        raise FxrError(
            "WORLD_SIZE is set but RANK or LOCAL_RANK is not; start several processes with torchrun"
        ) from None
    use_cuda = torch.cuda.is_available() and device_spec in ("auto", "cuda")
    if use_cuda:
        if local_size > torch.cuda.device_count():  # every process stops, none waits
            raise FxrError(
                f"torchrun started {local_size} processes on this machine but it has "
                f"{torch.cuda.device_count()} CUDA devices: one process per GPU "
                "(--nproc-per-node), or --device cpu"
            )
        torch.cuda.set_device(local_rank)
    if not dist.is_initialized():
        if use_cuda:  # naming the device spares NCCL a guess from the global rank
            dist.init_process_group("nccl", device_id=torch.device("cuda", local_rank))
        else:
            dist.init_process_group("gloo")
    return World(rank, size, local_rank, local_size)


def device_spec_for(world: World, spec: str) -> str:
    """One GPU per process under torchrun: ``cuda`` becomes ``cuda:LOCAL_RANK``."""
    if world.distributed and spec in ("auto", "cuda") and torch.cuda.is_available():
        return f"cuda:{world.local_rank}"
    return spec
