"""Several processes, one job, on torch.distributed: one code path for 1 and N processes.

Under ``torchrun`` (or Lightning's DDP, which initialises the group itself) each process is a rank of a world; alone,
a process is rank 0 of a world of 1 and every function here is a no-op. Work over files is shared by
:func:`share_of`: rank 0's list of what is missing, sorted, every ``world``-th file from the rank's own index, so the
split is deterministic and no file is done twice; :func:`gather` collects each rank's small results (the lines of
the files it could not read) and is the barrier the ranks meet at before training starts.
"""
from __future__ import annotations

import logging
import os
from datetime import timedelta

import torch
import torch.distributed as dist

# A rank waits at the barrier for the slowest one: the shares are equal in files, not in frames.
TIMEOUT = timedelta(hours=float(os.environ.get("LRCN_DIST_TIMEOUT_HOURS", "12")))
log = logging.getLogger(__name__)


def launched() -> bool:
    """Whether this process was started as one of several by torchrun (its environment says so)."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1 and "RANK" in os.environ


def init() -> bool:
    """Join torchrun's process group if this process was launched by it and no group exists yet (Lightning then uses
    that group). Returns whether a group is in use. gloo on CPUs; with GPUs, NCCL for their tensors."""
    if dist.is_available() and dist.is_initialized():
        return True
    if not launched() or not dist.is_available():
        return False
    backend = "cpu:gloo,cuda:nccl" if torch.cuda.is_available() else "gloo"
    dist.init_process_group(backend, timeout=TIMEOUT)
    log.debug("rank %d of %d joined the process group (%s)", dist.get_rank(), dist.get_world_size(), backend)
    return True


def rank_world() -> tuple[int, int]:
    """(this process's rank, the number of processes); (0, 1) alone."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def share_of(todo: list[str]) -> list[str]:
    """This rank's share of ``todo`` (as rank 0 listed it, so that every rank splits the same list): the sorted list,
    every world-th item from the rank's index. Alone: all of it, sorted."""
    rank, world = rank_world()
    if world > 1:
        box = [todo if rank == 0 else None]
        dist.broadcast_object_list(box, src=0)
        todo = box[0]
    return sorted(todo)[rank::world]


def gather(part: dict) -> dict:
    """Every rank's ``part`` merged (a collective: the ranks wait here for each other). Alone: ``part``."""
    rank, world = rank_world()
    if world == 1:
        return part
    parts: list = [None] * world
    dist.all_gather_object(parts, part)
    return {k: v for p in parts for k, v in p.items()}


def is_main() -> bool:
    return rank_world()[0] == 0


def close() -> None:
    """Leave the process group (once every rank is done)."""
    if dist.is_available() and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()
