"""The DataLoader every task trains from: decoding processes sized from the machine (``--workers`` wins, see
:func:`lrcn.device.loader_workers`), batches page-locked for a GPU (Lightning then copies them ``non_blocking``) and
prefetched ahead of it."""
from __future__ import annotations

import torch
from torch.utils.data import DataLoader, Dataset

from lrcn.device import loader_workers, pin_memory, prefetch


def loader(dataset: Dataset, device: torch.device, workers: int | None, **kwargs) -> DataLoader:
    """A DataLoader over ``dataset`` feeding ``device``, with ``workers`` processes (None: sized here); ``kwargs``
    as DataLoader's (batch_size, sampler, collate_fn, drop_last)."""
    n = int(loader_workers(workers, device).value)
    return DataLoader(dataset, num_workers=n, persistent_workers=n > 0, prefetch_factor=prefetch(device, n),
                      pin_memory=pin_memory(device), **kwargs)
