"""Describe data: the annotated intervals, the cached features of their sampled frames, their SR labels, and an
in-memory DataModule for either stage."""
from __future__ import annotations

import logging
from pathlib import Path

import lightning as L
import numpy as np
import torch

from lrcn.data.epochs import EpochShuffle
from lrcn.data.loading import loader
from lrcn.data.tacos import SLOTS, Interval, read_tacos
from lrcn.data.video import even_indices
from lrcn.errors import LrcnError
from lrcn.features.cache import FeatureCache
from lrcn.tasks.describe.config import DescribeConfig

log = logging.getLogger(__name__)


def interval_frames(cache: FeatureCache, intervals: list[Interval], n: int) -> np.ndarray:
    """(N, n, D) float16 features of each interval's ``n`` evenly sampled frames (first view)."""
    out = []
    for it in intervals:
        feats = cache.load(it.video)  # (T, V, D)
        out.append(np.asarray(feats[even_indices(it.start, it.end, len(feats), n), 0]))
    return np.stack(out)


def feature_cache(cfg: DescribeConfig, cache: Path | None, device) -> FeatureCache:
    return FeatureCache(cache, cfg.features.spec("center", "rgb", device=device), device=device)


def annotated(cfg: DescribeConfig) -> list[Interval]:
    """The intervals with an SR tuple: what the describe task trains and evaluates on."""
    return [i for i in read_tacos(cfg.data.root, cfg.data.split_seed) if i.sr is not None]


def feature_jobs(cfg: DescribeConfig, cache: Path | None, device) -> list[tuple[FeatureCache, list[Path]]]:
    """What ``lrcn features --task describe`` fills: every video with an annotated interval."""
    return [(feature_cache(cfg, cache, device), sorted({i.video for i in annotated(cfg)}))]


def load_data(cfg: DescribeConfig, cache: Path | None = None, device="auto"
              ) -> tuple[list[Interval], np.ndarray, list[str]]:
    """The intervals with an SR tuple, their frame features (N, frames, D) (computed into the cache when missing),
    and one line per video left out because it could not be read (its intervals with it)."""
    root = cfg.data.root
    intervals = annotated(cfg)
    fc = feature_cache(cfg, cache, device)
    errors = fc.build(sorted({i.video for i in intervals}), workers=cfg.data.workers, description="frame features")
    for line in errors.values():
        log.warning("skipped: %s", line)
    intervals = [i for i in intervals if str(i.video) not in errors]
    if not any(i.split == "train" for i in intervals):
        raise LrcnError(f"{root}: no readable training interval with an SR tuple")
    return intervals, interval_frames(fc, intervals, cfg.data.frames), list(errors.values())


def encode_labels(intervals: list[Interval], labels: list[list[str]]) -> torch.Tensor:
    """(N, K) label indices per slot; -1 for a label never seen in training."""
    index = [{name: j for j, name in enumerate(names)} for names in labels]
    return torch.tensor([[index[k].get(it.sr[s], -1) for k, s in enumerate(SLOTS)] for it in intervals])


def stack(items):
    return tuple(torch.stack(col) for col in zip(*items))


class DescribeData(L.LightningDataModule):
    """In-memory items, batched by ``collate`` in this process (nothing to decode), page-locked for a GPU; training
    batches in an order drawn from (``seed``, epoch)."""

    def __init__(self, train: list, val: list, collate, batch_size: int, seed: int):
        super().__init__()
        self.train, self.val, self.collate, self.batch_size, self.seed = train, val, collate, batch_size, seed

    def train_dataloader(self):
        order = EpochShuffle(len(self.train), self.seed, self.trainer.current_epoch)
        return loader(self.train, self.trainer.strategy.root_device, 0, batch_size=self.batch_size, sampler=order,
                      collate_fn=self.collate)

    def val_dataloader(self):
        return loader(self.val, self.trainer.strategy.root_device, 0, batch_size=self.batch_size,
                      collate_fn=self.collate)
