"""Training order and augmentation as functions of (seed, epoch, position): a resumed run replays them exactly.

A run killed mid-epoch resumes from the checkpoint written when the previous epoch ended, so the interrupted epoch
is trained again from its start. For that replay to give the same weights bit for bit, nothing in it may depend on
what the process did before (torch's global generator, a DataLoader worker's seed): :class:`EpochShuffle` draws
each epoch's order from (seed, epoch) alone (Lightning calls ``set_epoch`` before every epoch), and with ``draws``
hands each item the seed of its own random draws (crop, clip start, mirror, time reversal), so an item is the same
in any process or worker. As DistributedSampler does, but for augmentation too.
"""
from __future__ import annotations

from typing import Iterator

import numpy as np
import torch
from torch.utils.data import Sampler


def seed_of(*keys: int) -> int:
    """A 63-bit seed mixed from non-negative integers (numpy's SeedSequence: nearby keys give unrelated seeds)."""
    return int(np.random.SeedSequence(list(keys)).generate_state(1, np.uint64)[0] >> np.uint64(1))


def generator(seed: int) -> torch.Generator:
    """A CPU generator of its own, for one item's random draws."""
    return torch.Generator().manual_seed(seed)


class EpochShuffle(Sampler):
    """A random order of ``size`` items, a new one each epoch, a function of (``seed``, epoch) only.

    Yields indices, or with ``draws`` (index, item seed) pairs for a dataset whose items are random
    (``dataset[(i, seed)]``). ``epoch``: the epoch the first iteration belongs to (a resumed run's; Lightning
    builds the loader, then calls ``set_epoch``, but a loader with workers may draw its first indices in between).
    """

    def __init__(self, size: int, seed: int, epoch: int = 0, draws: bool = False):
        self.size, self.seed, self.epoch, self.draws = size, seed, epoch, draws

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return self.size

    def __iter__(self) -> Iterator:
        order = torch.randperm(self.size, generator=generator(seed_of(self.seed, self.epoch))).tolist()
        if not self.draws:
            return iter(order)
        return ((i, seed_of(self.seed, self.epoch, position, 1)) for position, i in enumerate(order))
