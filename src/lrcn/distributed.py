"""Several processes, one job, on torch.distributed: one code path for 1 and N processes.

Under ``torchrun`` or ``srun`` (or Lightning's DDP, which initialises the group itself) each process is a rank of a
world; alone, a process is rank 0 of a world of 1 and every function here is a no-op. Work over files is shared by
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
    """Whether this process was started as one of several, by torchrun or by SLURM's srun (its environment says so)."""
    if "WORLD_SIZE" in os.environ:
        return int(os.environ["WORLD_SIZE"]) > 1 and "RANK" in os.environ
    return _slurm() is not None and _slurm().world_size() > 1


def _slurm():
    """Lightning's view of an srun-launched process (ranks, main address and port from SLURM's variables), or None."""
    if "SLURM_NTASKS" not in os.environ:
        return None
    from lightning.fabric.plugins.environments import SLURMEnvironment

    return SLURMEnvironment() if SLURMEnvironment.detect() else None


def init() -> bool:
    """Join the launcher's process group if this process was launched as one of several and no group exists yet
    (Lightning then uses that group). Returns whether a group is in use. gloo on CPUs; with GPUs, NCCL for theirs."""
    if dist.is_available() and dist.is_initialized():
        return True
    if not launched() or not dist.is_available():
        return False
    backend = "cpu:gloo,cuda:nccl" if torch.cuda.is_available() else "gloo"
    if "WORLD_SIZE" in os.environ:  # torchrun: env:// rendezvous
        dist.init_process_group(backend, timeout=TIMEOUT)
    else:
        env = _slurm()
        dist.init_process_group(backend, init_method=f"tcp://{env.main_address}:{env.main_port}",
                                rank=env.global_rank(), world_size=env.world_size(), timeout=TIMEOUT)
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
