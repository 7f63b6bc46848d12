"""Caption data: the folder's images and captions (Karpathy split file or COCO captions JSON), their cached CNN
features, and batches of images with all their captions."""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Callable

import lightning as L
import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from lrcn.data.coco import ImageCaptions, read_coco, read_karpathy, select_split
from lrcn.data.epochs import EpochShuffle
from lrcn.data.text import Vocabulary, encode_batch, tokenize
from lrcn.data.loading import loader
from lrcn.errors import LrcnError
from lrcn.features.cache import FeatureCache
from lrcn.features.inputs import frame_views
from lrcn.tasks.caption.config import CaptionConfig

TRAIN_SPLITS = ("train", "restval")
log = logging.getLogger(__name__)


def read_caption_folder(root: Path, images: Path | None = None) -> list[ImageCaptions]:
    """Every image of a captioning data folder, with its split.

    A Karpathy split file ``dataset_*.json`` wins (its splits train/val/test/restval are used as
    written). Otherwise the COCO captions files ``captions_<name>.json`` (in the folder or in its
    ``annotations/``); the split is the name without digits (``captions_val2014.json`` -> val) and the
    images are in ``<name>/`` (COCO's ``val2014/``), else in ``images/``, else beside the JSON's folder.
    """
    root = Path(root)
    if not root.is_dir():
        raise LrcnError(f"{root}: not a folder")
    karpathy = sorted(root.glob("dataset_*.json"))
    if len(karpathy) > 1:
        raise LrcnError(f"{root}: several Karpathy split files ({', '.join(p.name for p in karpathy)}); keep one")
    if karpathy:
        return read_karpathy(karpathy[0], images or root)
    cocos = sorted(root.glob("captions_*.json")) + sorted(root.glob("annotations/captions_*.json"))
    if not cocos:
        raise LrcnError(f"{root}: no Karpathy split file (dataset_*.json) and no COCO captions file (captions_*.json)")
    items = []
    for path in cocos:
        name = path.stem.removeprefix("captions_")
        base = images or root
        folder = next((d for d in (base / name, base / "images") if d.is_dir()), base)
        items += read_coco(path, folder, name.rstrip("0123456789") or name)
    return items


def split_items(items: list[ImageCaptions], split: str, where: Path) -> list[ImageCaptions]:
    chosen = select_split(items, TRAIN_SPLITS if split == "train" else split)
    if not chosen:
        have = sorted({it.split for it in items})
        raise LrcnError(f"{where}: no {split} split (splits: {', '.join(have) or 'none'})")
    return chosen


def feature_cache(cfg: CaptionConfig, cache: Path | None, device="auto") -> FeatureCache:
    return FeatureCache(cache, cfg.features.spec("center", "image", device=device), device=device)


def feature_jobs(cfg: CaptionConfig, cache: Path | None, device) -> list[tuple[FeatureCache, list[Path]]]:
    """What ``lrcn features --task caption`` fills: every image of the folder, all splits (train, eval, retrieval)."""
    items = read_caption_folder(cfg.data.root, cfg.data.images)
    return [(feature_cache(cfg, cache, device), [it.path for it in items])]


def image_features(cache: FeatureCache, items: list[ImageCaptions], workers: int | None, what: str
                   ) -> tuple[list[ImageCaptions], torch.Tensor, list[str]]:
    """Cached CNN features of the items' images: (kept items, (N, D) float32, one line per unreadable image left
    out, also logged)."""
    errors = cache.build([it.path for it in items], workers=workers, description=f"{what} image features")
    for line in errors.values():
        log.warning("skipped: %s", line)
    kept = [it for it in items if str(it.path) not in errors]
    if not kept:
        raise LrcnError(f"{what}: no readable image")
    feats = np.stack([cache.load(it.path).reshape(-1) for it in kept])  # (N, D) float16
    return kept, torch.from_numpy(feats).float(), list(errors.values())


class ImagesWithCaptions(Dataset):
    """Item i: (image i's input x: a feature row (D,) or pixels (3, S, S), its captions' inputs and targets (k, L))."""

    def __init__(self, x: Callable[[int], torch.Tensor], count: int, inputs: torch.Tensor, targets: torch.Tensor,
                 owner: torch.Tensor):
        self.x, self.count = x, count
        self.inputs, self.targets = inputs, targets  # (Ncap, L)
        bounds = torch.searchsorted(owner, torch.arange(count + 1))  # captions are grouped by image
        self.ranges = list(zip(bounds[:-1].tolist(), bounds[1:].tolist()))

    def __len__(self) -> int:
        return self.count

    def __getitem__(self, i: int):
        a, b = self.ranges[i]
        return self.x(i), self.inputs[a:b], self.targets[a:b]


def collate(batch):
    """-> (x (B, ...), owner (Ncap,) index into the batch's images, inputs, targets (Ncap, L) trimmed of padding)."""
    xs, inputs, targets = zip(*batch)
    owner = torch.cat([torch.full((len(t),), i) for i, t in enumerate(targets)])
    inputs, targets = torch.cat(inputs), torch.cat(targets)
    width = int((targets != 0).sum(1).max())  # <pad> = 0 (lrcn.data.text)
    return torch.stack(xs), owner, inputs[:, :width], targets[:, :width]


class CaptionDataModule(L.LightningDataModule):
    """Image features (or pixels, when fine-tuning) + encoded captions of the train and val splits."""

    def __init__(self, cfg: CaptionConfig, cache: Path | None, device: torch.device):
        super().__init__()
        self.cfg, self.device = cfg, device
        self.cache = feature_cache(cfg, cache, device)
        self.vocab: Vocabulary | None = None
        self.feature_dim = 0
        self.skipped: list[str] = []
        self.sets: dict[str, ImagesWithCaptions] = {}

    def setup(self, stage: str | None = None) -> None:
        if self.sets:
            return
        d = self.cfg.data
        items = read_caption_folder(d.root, d.images)
        train = split_items(items, "train", d.root)
        self.vocab = Vocabulary.build((tokenize(c) for it in train for c in it.captions), d.min_count)
        for split, chosen in (("train", train), ("val", split_items(items, "val", d.root))):
            self.sets[split] = self._dataset(chosen, split)

    def _dataset(self, items: list[ImageCaptions], split: str) -> ImagesWithCaptions:
        items, feats, skipped = image_features(self.cache, items, self.cfg.data.workers, split)
        self.skipped += skipped
        self.feature_dim = feats.shape[1]
        x = feats.__getitem__
        if self.cfg.train.finetune:  # the CNN trains: pixels, decoded in workers (the cache found the unreadable ones)
            x = lambda i: frame_views(items[i].path, self.cache.spec)[0, 0]  # noqa: E731  (3, S, S)
        captions = [tokenize(c) for it in items for c in it.captions]
        owner = torch.tensor([i for i, it in enumerate(items) for _ in it.captions])
        inputs, targets = encode_batch(self.vocab, captions, self.cfg.data.max_len)
        return ImagesWithCaptions(x, len(items), inputs, targets, owner)

    def _loader(self, split: str, shuffle: bool) -> DataLoader:
        workers = self.cfg.data.workers if self.cfg.train.finetune else 0  # cached features: nothing to decode
        data = self.sets[split]
        order = EpochShuffle(len(data), self.cfg.train.seed, self.trainer.current_epoch) if shuffle else None
        return loader(data, self.device, workers, batch_size=self.cfg.data.images_per_batch, sampler=order,
                      collate_fn=collate)

    def train_dataloader(self) -> DataLoader:
        return self._loader("train", shuffle=True)

    def val_dataloader(self) -> DataLoader:
        return self._loader("val", shuffle=False)
