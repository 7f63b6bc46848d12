"""Image captioning with LRCN (research.md §2): run config, data, the LightningModule, training, the predictor.

Fast path: every image goes through the frozen CNN once (the feature cache: a 3x3 grid of the last
feature map, our pool5); a learned projection of that grid (our "fc8", ``image_dim`` wide, the
paper's static image input) and the LSTMs train on top. ``finetune`` puts the CNN in the loop
instead (its learning rate scaled by ``backbone_lr_mult``, 0.1 as the authors' fine-tuning solver).

A training batch is a set of images with all their captions, so each image's projection is computed
once for its ~5 captions. Evaluation, decoding and retrieval scoring live in :mod:`lrcn.tasks.caption_eval`.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import lightning as L
import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

from lrcn.config import from_dict, to_dict
from lrcn.data.coco import ImageCaptions, read_coco, read_karpathy, select_split
from lrcn.data.features import FeatureCache, FeatureSpec, frame_source
from lrcn.data.text import Vocabulary, encode_batch, tokenize
from lrcn.data.transforms import crop_views, to_tensor
from lrcn.errors import LrcnError
from lrcn.models.captioner import VARIANTS, Captioner

TRAIN_SPLITS = ("train", "restval")
VOCAB_FILE = "vocab.json"


@dataclass
class CaptionDataConfig:
    root: Path = Path("data/scenes")  # a Karpathy split file (dataset_*.json) or COCO captions JSONs
    images: Path | None = None  # where image paths are relative to; default: root
    backbone: str = "efficientnet_lite0"
    pretrained: bool = True
    grid: int = 3
    image_size: int = 224
    min_count: int = 5  # vocabulary: training words seen at least this often (paper: 5)
    max_len: int = 20  # words per training caption (paper: 20)
    images_per_batch: int = 20  # each with all its captions: ~100 captions, the paper's batch
    workers: int = 1  # image-decoding processes for the feature cache and fine-tuning


@dataclass
class CaptionModelConfig:
    variant: str = "lrcn2f"
    embed_dim: int = 512  # paper: 1000
    hidden: int = 512  # paper: 1000
    image_dim: int = 512  # width of the projected image feature fed at every step (paper: fc8, 1000)
    dropout: float = 0.5


@dataclass
class CaptionTrainConfig:
    epochs: int = 10
    lr: float = 2e-3  # Adam (the authors: SGD 0.01 for 110k iterations, too slow for a CPU)
    weight_decay: float = 0.0
    clip: float = 10.0  # gradient norm clipping (the authors' clip_gradients 10)
    finetune: bool = False
    backbone_lr_mult: float = 0.1
    precision: str = "bf16-mixed"  # Lightning's: bf16 matrix products on CPU, ~2x faster than "32-true"
    seed: int = 0


@dataclass
class CaptionConfig:
    data: CaptionDataConfig = field(default_factory=CaptionDataConfig)
    model: CaptionModelConfig = field(default_factory=CaptionModelConfig)
    train: CaptionTrainConfig = field(default_factory=CaptionTrainConfig)
    cache: Path = Path(".cache/features")

    def feature_spec(self) -> FeatureSpec:
        d = self.data
        return FeatureSpec(backbone=d.backbone, pretrained=d.pretrained, grid=d.grid, image_size=d.image_size,
                           views="center", source="image")


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


def image_features(cfg: CaptionConfig, items: list[ImageCaptions], description: str
                   ) -> tuple[list[ImageCaptions], torch.Tensor]:
    """Cached CNN features of the items' images: (kept items, (N, D) float32). Unreadable images are left out,
    with one line on stderr."""
    cache = FeatureCache(cfg.cache, cfg.feature_spec())
    errors = cache.build([it.path for it in items], workers=cfg.data.workers, description=description)
    if errors:
        first = next(iter(errors.values()))
        print(f"{len(errors)} image(s) left out, unreadable (first: {first})", file=sys.stderr)
    kept = [it for it in items if str(it.path) not in errors]
    if not kept:
        raise LrcnError(f"{description}: no readable image")
    feats = np.stack([cache.load(it.path).reshape(-1) for it in kept])  # (N, D) float16
    return kept, torch.from_numpy(feats).float()


def load_views(path: Path, spec: FeatureSpec) -> torch.Tensor:
    """An image as the CNN sees it (the feature cache's centre view): (3, S, S) uint8."""
    frames = frame_source("image")(path, spec.decode_size)  # (1, S', S', 3)
    return crop_views(to_tensor(frames), spec.image_size, "center")[0, 0]


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

    def __init__(self, cfg: CaptionConfig):
        super().__init__()
        self.cfg = cfg
        self.vocab: Vocabulary | None = None
        self.feature_dim = 0
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
        spec = self.cfg.feature_spec()
        if self.cfg.train.finetune:
            from lrcn.models.backbones import create_backbone

            self.feature_dim = create_backbone(spec.backbone, False, spec.grid).feature_dim
            x = lambda i: load_views(items[i].path, spec)
        else:
            items, feats = image_features(self.cfg, items, f"{split} image features")
            self.feature_dim = feats.shape[1]
            x = feats.__getitem__
        captions = [tokenize(c) for it in items for c in it.captions]
        owner = torch.tensor([i for i, it in enumerate(items) for _ in it.captions])
        inputs, targets = encode_batch(self.vocab, captions, self.cfg.data.max_len)
        return ImagesWithCaptions(x, len(items), inputs, targets, owner)

    def _loader(self, split: str, shuffle: bool) -> DataLoader:
        workers = self.cfg.data.workers if self.cfg.train.finetune else 0
        return DataLoader(self.sets[split], batch_size=self.cfg.data.images_per_batch, shuffle=shuffle,
                          collate_fn=collate, num_workers=workers, persistent_workers=workers > 0)

    def train_dataloader(self) -> DataLoader:
        return self._loader("train", shuffle=True)

    def val_dataloader(self) -> DataLoader:
        return self._loader("val", shuffle=False)


class CaptionModule(L.LightningModule):
    """(CNN, when fine-tuning) -> image projection -> LRCN captioner; cross-entropy over words, padding ignored."""

    def __init__(self, config: dict, vocab_size: int, feature_dim: int, pad: int):
        super().__init__()
        self.save_hyperparameters()
        cfg = from_dict(CaptionConfig, config)
        self.cfg, self.pad = cfg, pad
        m = cfg.model
        self.backbone = None
        if cfg.train.finetune:
            from lrcn.models.backbones import create_backbone

            self.backbone = create_backbone(cfg.data.backbone, cfg.data.pretrained, cfg.data.grid, frozen=False)
        # Standardised CNN features, a linear map (the authors feed fc8, pre-softmax), then LayerNorm: with ~10^4
        # inputs per unit, Adam's steps move the projection by a lot; unnormalised, the LSTMs then learned nothing
        # (a ReLU instead died out: every caption the same).
        self.image_fc = nn.Sequential(nn.BatchNorm1d(feature_dim), nn.Linear(feature_dim, m.image_dim),
                                      nn.LayerNorm(m.image_dim), nn.Dropout(m.dropout))
        self.captioner = Captioner(vocab_size, m.image_dim, m.variant, m.embed_dim, m.hidden, m.dropout)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Features (B, D), or images (B, 3, S, S) when fine-tuning -> the static input (B, image_dim)."""
        if self.backbone is not None and x.dim() == 4:
            x = self.backbone(x)
        return self.image_fc(x.float())

    def _loss(self, batch) -> torch.Tensor:
        x, owner, inputs, targets = batch
        cond = self.encode(x)[owner]  # (Ncap, image_dim)
        logits = self.captioner(cond, inputs)  # (Ncap, L, V)
        return nn.functional.cross_entropy(logits.flatten(0, 1), targets.flatten(), ignore_index=self.pad)

    def training_step(self, batch, batch_idx):
        loss = self._loss(batch)
        self.log("train_loss", loss, prog_bar=True, batch_size=len(batch[1]))
        return loss

    def validation_step(self, batch, batch_idx):
        self.log("val_loss", self._loss(batch), prog_bar=True, batch_size=len(batch[1]))

    def configure_optimizers(self):
        t = self.cfg.train
        groups = [{"params": [p for n, p in self.named_parameters() if not n.startswith("backbone.")]}]
        if self.backbone is not None:
            groups.append({"params": self.backbone.parameters(), "lr": t.lr * t.backbone_lr_mult})
        return torch.optim.Adam(groups, lr=t.lr, weight_decay=t.weight_decay)


def train(cfg: CaptionConfig, run: Path, resume: bool = False, progress: bool = True) -> Path:
    """Train a captioner into the run folder (config.yaml, vocab.json, checkpoints/, logs/). Returns the run."""
    from lrcn.runs import write_run_config
    from lrcn.training import checkpoint_to_resume, make_trainer

    if cfg.model.variant not in VARIANTS:
        raise LrcnError(f"--variant {cfg.model.variant}: choose from {', '.join(VARIANTS)}")
    run = Path(run)
    ckpt = checkpoint_to_resume(run, resume)
    L.seed_everything(cfg.train.seed, workers=True, verbose=False)
    data = CaptionDataModule(cfg)
    data.setup()
    run.mkdir(parents=True, exist_ok=True)
    data.vocab.save(run / VOCAB_FILE)
    write_run_config(run, "caption", cfg)
    module = CaptionModule(to_dict(cfg), len(data.vocab), data.feature_dim, data.vocab.pad)
    trainer = make_trainer(run, cfg.train.epochs, monitor="val_loss", mode="min", progress=progress, resume=resume,
                           gradient_clip_val=cfg.train.clip, precision=cfg.train.precision)
    trainer.fit(module, datamodule=data, ckpt_path=ckpt)
    return run


def load_run(run: Path) -> tuple[CaptionConfig, Vocabulary, CaptionModule]:
    """A trained caption run: (config, vocabulary, module in eval mode)."""
    from lrcn.runs import best_checkpoint, read_run_config

    task, data = read_run_config(run)
    if task != "caption":
        raise LrcnError(f"{run}: a {task} run, not a caption run")
    cfg = from_dict(CaptionConfig, data, f"{run}/config.yaml")
    vocab = Vocabulary.load(Path(run) / VOCAB_FILE)
    module = CaptionModule.load_from_checkpoint(best_checkpoint(run), map_location="cpu")
    return cfg, vocab, module.eval()


@dataclass
class Decoding:
    """How a caption is decoded: greedy (beam 1), beam search, or the best of ``sample`` draws at ``temperature``."""

    beam: int = 1
    sample: int = 0
    temperature: float = 1.0
    length_norm: bool = False
    seed: int = 0


class CaptionPredictor:
    """``predict(path) -> {"path", "caption", "logprob"}`` for any image file (the CLI's ``--json`` line)."""

    def __init__(self, run: Path, decoding: Decoding = Decoding()):
        self.cfg, self.vocab, self.module = load_run(Path(run))
        self.decoding = decoding
        self.spec = self.cfg.feature_spec()
        if self.module.backbone is None:
            from lrcn.models.backbones import create_backbone

            self.backbone = create_backbone(self.spec.backbone, self.spec.pretrained, self.spec.grid)
        else:
            self.backbone = self.module.backbone.eval()

    @torch.inference_mode()
    def features(self, images: torch.Tensor) -> torch.Tensor:
        """(B, 3, S, S) uint8 -> CNN features (B, D), computed as the feature cache does."""
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=self.spec.precision == "bf16"):
            return self.backbone(images.contiguous(memory_format=torch.channels_last)).to(torch.float16).float()

    def predict(self, path) -> dict:
        return self.predict_many([path])[0]

    def predict_many(self, paths: list) -> list[dict]:
        """One dict per path, in order; an unreadable image gives {"path", "error"} and the others still run."""
        from lrcn.tasks.caption_eval import decode

        out: list[dict] = [{"path": str(p)} for p in paths]
        good, images = [], []
        for n, p in enumerate(paths):
            try:
                images.append(load_views(Path(p), self.spec))
                good.append(n)
            except LrcnError as e:
                out[n]["error"] = str(e)
        if good:
            feats = self.features(torch.stack(images))
            captions, logprobs = decode(self.module, self.vocab, feats, self.decoding, self.cfg.data.max_len)
            for n, caption, logprob in zip(good, captions, logprobs):
                out[n].update(caption=caption, logprob=round(logprob, 4))
        return out


def load_predictor(run) -> CaptionPredictor:
    return CaptionPredictor(Path(run))
