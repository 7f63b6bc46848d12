"""Activity recognition (the paper's §4.1): train, evaluate and predict with LRCN or the single-frame baseline.

Fast path (frozen CNN): every frame of every video goes through the backbone once, into a
:class:`~lrcn.data.features.FeatureCache`; the heads then train on clips of cached features.
Training samples a random 16-frame clip per video (``clips_per_video`` times an epoch); test
takes clips of 16 every 8 frames (``sample_clip_starts``) and averages the per-step softmax over
steps, crops and clips (``video_scores``).

Optimiser: AdamW (lr 1e-3, weight decay 1e-2) rather than the paper's SGD (lr 1e-3, momentum 0.9,
30k iterations): on cached features it converges in a few hundred steps, which a 2-core CPU affords.
Gradients are clipped at 5 as in the authors' solver.

End to end (``finetune``): the CNN trains with the head, on random 16-frame clips decoded from the
videos in DataLoader workers (one random crop per clip, mirrored too with ``flip``), its
learning rate scaled by ``backbone_lr_mult`` (0.1, the CNN's lr_mult in the authors' fine-tuning
solver). The training videos still go through the pretrained CNN once first, into the feature
cache: that pass finds the broken videos, fills the flow cache, and fits the whitening. Evaluation
and prediction then run the run's own fine-tuned CNN (its test features cached under its weights).
"""
from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path

import lightning as L
import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from lrcn.config import from_dict, to_dict
from lrcn.data.features import (DecodedViews, FeatureCache, FeatureSpec, embed_frames, frame_source, mirror_of,
                                 weights_key)
from lrcn.data.transforms import crop_views, mirrored, random_clip_crop, to_tensor
from lrcn.data.video import clip_indices, sample_clip_starts
from lrcn.errors import LrcnError
from lrcn.models.activity import ARCHS, ActivityModelConfig, EndToEnd, create_head, per_step_loss, video_scores
from lrcn.models.pca import Whiten

MODALITIES = ("rgb", "flow")


@dataclass
class DataConfig:
    root: Path = Path("data/actions")  # a UCF101-layout root, or a folder per class
    split: int = 1  # UCF101 split (1-3)
    test_fraction: float = 0.3  # folder-per-class data: share of videos held out for test
    val_fraction: float = 0.1  # share of the training groups held out to pick the best checkpoint
    split_seed: int = 0
    modality: str = "rgb"  # "rgb" | "flow"
    flow_method: str = "dis"
    backbone: str = "efficientnet_lite0"
    pretrained: bool = True
    grid: int = 3
    image_size: int = 224
    precision: str = "bf16"  # backbone autocast: "bf16" | "fp32" (fine-tuning: Lightning's "bf16-mixed" training)
    flip: bool = False  # cache mirrored training frames too (a mirrored clip of A is B for each mirror pair A:B)
    clip_len: int = 16
    stride: int = 8
    clips_per_video: int = 4  # random training clips drawn from each video per epoch
    batch_size: int = 24  # clips per step (24 x 16 frames, as the authors)
    workers: int = 1  # decoding processes for the feature cache (and for the training clips when fine-tuning)
    cache: Path | None = None  # feature cache root; default $LRCN_CACHE or ~/.cache/lrcn


@dataclass
class TrainConfig:
    epochs: int = 30
    lr: float = 1e-3
    weight_decay: float = 1e-2
    grad_clip: float = 5.0
    seed: int = 0
    # Time-reversal augmentation: class pairs that are each other's reversal ("A:B"); a reversed clip of A is B.
    reverse_pairs: list[str] = field(default_factory=list)
    finetune: bool = False  # train the CNN too, end to end on decoded frames (slow on CPU)
    backbone_lr_mult: float = 0.1  # the CNN's learning rate is lr x this (the authors' fine-tuning lr_mult)
    # Mirror pairs ("A:B"): a left-right mirrored clip of A is B. Swaps the label of a mirrored training view
    # (--flip) and the class scores of a mirrored test view (--crops 10) back before they are averaged.
    mirror_pairs: list[str] = field(default_factory=list)


@dataclass
class ActivityConfig:
    data: DataConfig = field(default_factory=DataConfig)
    model: ActivityModelConfig = field(default_factory=ActivityModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)

    def check(self) -> "ActivityConfig":
        if self.model.arch not in ARCHS:
            raise LrcnError(f"--arch {self.model.arch}: choose from {', '.join(ARCHS)}")
        if self.data.modality not in MODALITIES:
            raise LrcnError(f"--modality {self.data.modality}: choose from {', '.join(MODALITIES)}")
        if self.data.split not in (1, 2, 3):
            raise LrcnError(f"--split {self.data.split}: UCF101 has splits 1, 2 and 3")
        return self


# ---------------------------------------------------------------------------------------------- data


@dataclass
class VideoSet:
    classes: list[str]
    train: list  # VideoItem(path, label, group)
    val: list
    test: list


def read_videos(cfg: DataConfig) -> VideoSet:
    """The data set's index: UCF101 layout (classInd.txt) or a folder per class."""
    root = Path(cfg.root)
    if not root.is_dir():
        raise LrcnError(f"{root}: no such data folder")
    if (root / "classInd.txt").is_file() or (root / "ucfTrainTestlist" / "classInd.txt").is_file():
        from lrcn.data.ucf101 import read_classes, read_split

        classes = read_classes(root)
        train, test = read_split(root, cfg.split, "train"), read_split(root, cfg.split, "test")
    else:
        from lrcn.data.folders import read_folder, split_items

        classes, items = read_folder(root)
        train, test = split_items(items, cfg.test_fraction, cfg.split_seed)
    train, val = hold_out_groups(train, cfg.val_fraction, cfg.split_seed)
    if not train or not test:
        raise LrcnError(f"{root}: split {cfg.split} has {len(train)} training and {len(test)} test videos")
    return VideoSet(list(classes), train, val, test)


def hold_out_groups(items: list, fraction: float, seed: int) -> tuple[list, list]:
    """Split ``items`` into (kept, held out) by whole groups, ``fraction`` of each class's groups held out."""
    rng = np.random.default_rng(seed)
    by_class: dict[int, list] = {}
    for it in items:
        by_class.setdefault(it.label, []).append(it.group if it.group is not None else str(it.path))
    held = set()
    for label in sorted(by_class):
        groups = sorted(set(by_class[label]))
        n = int(round(fraction * len(groups))) if len(groups) > 1 else 0
        held.update((label, g) for g in rng.permutation(groups)[:n])
    key = lambda it: (it.label, it.group if it.group is not None else str(it.path))  # noqa: E731
    return [it for it in items if key(it) not in held], [it for it in items if key(it) in held]


def feature_spec(cfg: DataConfig, views: str) -> FeatureSpec:
    source = "rgb" if cfg.modality == "rgb" else f"flow-{cfg.flow_method}"
    return FeatureSpec(cfg.backbone, cfg.pretrained, cfg.grid, cfg.image_size, views, source, cfg.precision)


def cache_root(cfg: DataConfig) -> Path:
    return Path(cfg.cache or os.environ.get("LRCN_CACHE") or Path.home() / ".cache" / "lrcn")


def build_features(cache: FeatureCache, items: list, workers: int, what: str) -> list[str]:
    """Compute the features of ``items``; return (and print) one line per video that could not be read."""
    errors = cache.build([it.path for it in items], workers=workers, description=f"{what} features")
    for line in errors.values():
        print(f"skipped: {line}", file=sys.stderr)
    return list(errors.values())


def cached(cache: FeatureCache, items: list) -> list:
    """The items whose features are in the cache (the others failed to decode)."""
    keep = []
    for it in items:
        try:
            if cache.entry(it.path).exists():
                keep.append(it)
        except OSError:
            pass
    return keep


def pair_permutation(pairs: list[str], classes: list[str], flag: str, root: Path) -> list[int]:
    """"A:B" class pairs (``--reverse-pair``, ``--mirror-pair``) -> the class-index permutation swapping each A and B.

    The permutation is its own inverse, so it also maps the scores of a transformed clip back.
    """
    index = {c: i for i, c in enumerate(classes)}
    perm = list(range(len(classes)))
    for pair in pairs:
        a, _, b = pair.partition(":")
        if a not in index or b not in index or a == b:
            raise LrcnError(f"{flag} {pair}: expected two different class names A:B of {root}")
        if perm[index[a]] != index[a] or perm[index[b]] != index[b]:
            raise LrcnError(f"{flag} {pair}: a class can be in one pair only")
        perm[index[a]], perm[index[b]] = index[b], index[a]
    return perm


def random_clip_indices(num_frames: int, clip_len: int) -> np.ndarray:
    """Frame indices (clip_len,) of a training clip at a uniformly random start (torch's seeded generator)."""
    start = int(torch.randint(0, max(num_frames - clip_len, 0) + 1, ()))
    return clip_indices(num_frames, start, clip_len)


def time_reversed(clip: torch.Tensor, label: int, reverse: list[int]) -> tuple[torch.Tensor, int]:
    """Time-reversal augmentation: a clip (L, ...) of a class that ``reverse`` moves is played backwards half the
    time, labelled as its pair."""
    if reverse[label] != label and torch.rand(()) < 0.5:
        return clip.flip(0), reverse[label]
    return clip, label


class TrainClips(Dataset):
    """Random clips of cached features: index -> ((clip_len, D) float32, label). A random view (crop/mirror) per clip.

    ``mirror`` and ``reverse`` are class permutations (``pair_permutation``): the label of a mirrored view goes
    through ``mirror``; a class that ``reverse`` moves is played backwards half the time, as its pair.
    """

    def __init__(self, cache: FeatureCache, items: list, clip_len: int, clips_per_video: int,
                 reverse: list[int], mirror: list[int]):
        self.cache, self.items, self.clip_len, self.reverse, self.mirror = cache, items, clip_len, reverse, mirror
        self.mirrored = mirrored(cache.spec.views)
        self.length = len(items) * clips_per_video

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, i: int):
        item = self.items[i % len(self.items)]
        feats = self.cache.load(item.path)  # (T, V, D)
        idx = random_clip_indices(len(feats), self.clip_len)
        view = int(torch.randint(0, feats.shape[1], ()))
        clip = torch.from_numpy(feats[idx, view].astype(np.float32))  # (L, D)
        label = self.mirror[item.label] if self.mirrored[view] else item.label
        return time_reversed(clip, label, self.reverse)


class VideoClips(Dataset):
    """Whole videos for evaluation: index -> ((N, V, L, D) float16 clips every ``stride`` frames, label)."""

    def __init__(self, cache: FeatureCache, items: list, clip_len: int, stride: int, views: int | None = None):
        self.cache, self.items, self.clip_len, self.stride, self.views = cache, items, clip_len, stride, views

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i: int):
        feats = np.array(self.cache.load(self.items[i].path)[:, : self.views])  # (T, V, D)
        return clips_of(torch.from_numpy(feats), self.clip_len, self.stride), self.items[i].label


class TrainFrames(Dataset):
    """Random clips of decoded frames, for fine-tuning: index -> ((clip_len, 3, S, S) uint8, label).

    One random crop for the whole clip, as the authors' sequence_input_layer. ``mirror`` and ``reverse`` are class
    permutations (``pair_permutation``): with ``mirror``, half the clips are mirrored and their label goes through
    it (None: never mirrored); a class that ``reverse`` moves is played backwards half the time, as its pair.
    """

    def __init__(self, spec: FeatureSpec, flow_cache: Path, items: list, clip_len: int, clips_per_video: int,
                 reverse: list[int], mirror: list[int] | None):
        self.spec, self.items, self.clip_len, self.reverse, self.mirror = spec, items, clip_len, reverse, mirror
        self.read = frame_source(spec.source, spec.flow_side, flow_cache)
        self.flip = mirror_of(spec.source)
        self.length = len(items) * clips_per_video

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, i: int):
        item = self.items[i % len(self.items)]
        frames = self.read(item.path, self.spec.decode_size)  # (T, S', S', 3), decoded resized
        clip = to_tensor(frames[random_clip_indices(len(frames), self.clip_len)])  # (L, 3, S', S')
        flipped = self.mirror is not None and bool(torch.rand(()) < 0.5)
        clip = random_clip_crop(clip, self.spec.image_size, mirror=self.flip if flipped else None)  # (L, 3, S, S)
        label = self.mirror[item.label] if flipped else item.label
        return time_reversed(clip, label, self.reverse)


class VideoFrames(Dataset):
    """Whole videos' frames for validating a fine-tuned CNN: index -> ((T, V, 3, S, S) uint8 views, label)."""

    def __init__(self, spec: FeatureSpec, flow_cache: Path, items: list):
        self.items = items
        self.decoded = DecodedViews([it.path for it in items], spec, flow_cache)

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i: int):
        _, views = self.decoded[i]
        if isinstance(views, str):  # decoded when the cache was built: the file changed since
            raise LrcnError(views)
        return views, self.items[i].label


def clips_of(feats: torch.Tensor, clip_len: int, stride: int) -> torch.Tensor:
    """(T, V, D) frame features -> (N, V, L, D) test clips (a short video is looped into one clip)."""
    t = feats.shape[0]
    idx = torch.from_numpy(np.stack([clip_indices(t, s, clip_len) for s in sample_clip_starts(t, clip_len, stride)]))
    return feats[idx].transpose(1, 2)  # (N, L, V, D) -> (N, V, L, D)


def unmirror(logits: torch.Tensor, views: str, mirror: list[int]) -> torch.Tensor:
    """(N, V, L, C) logits of the named views -> the same, the mirrored views' classes swapped back by ``mirror``."""
    flipped = torch.tensor(mirrored(views))
    out = logits.clone()
    out[:, flipped] = logits[:, flipped][..., mirror]
    return out


@torch.inference_mode()
def predict_clips(head: torch.nn.Module, clips: torch.Tensor, views: str = "center",
                  mirror: list[int] | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """(N, V, L, D) clips of the named views -> (per-clip probabilities (N, C), the video's probabilities (C,)).

    With ``mirror`` (``pair_permutation`` of the mirror pairs), a mirrored view's scores are swapped back first.
    """
    n, v = clips.shape[:2]
    logits = torch.cat([head(c.flatten(0, 1).float())[0] for c in clips.split(max(1, 64 // v))])  # (N*V, L, C)
    logits = logits.view(n, v, *logits.shape[1:])  # (N, V, L, C)
    if mirror is not None:
        logits = unmirror(logits, views, mirror)
    return logits.float().softmax(-1).mean((1, 2)), video_scores(logits)


def training_frames(cache: FeatureCache, items: list, max_rows: int = 8192) -> torch.Tensor:
    """Centre-view features of up to ``max_rows`` training frames, evenly spaced in each video: (N, D)."""
    per_video = max(1, max_rows // len(items))
    rows = []
    for it in items:
        feats = cache.load(it.path)  # (T, V, D)
        idx = np.unique(np.linspace(0, len(feats) - 1, min(per_video, len(feats))).round().astype(int))
        rows.append(torch.from_numpy(np.asarray(feats[idx, 0], dtype=np.float32)))
    return torch.cat(rows)


class ActivityDataModule(L.LightningDataModule):
    def __init__(self, cfg: ActivityConfig, videos: VideoSet, run: Path):
        super().__init__()
        self.cfg, self.videos, self.run = cfg, videos, run
        self.cache = FeatureCache(cache_root(cfg.data), feature_spec(cfg.data, "center+flip" if cfg.data.flip else "center"))

    def prepare_data(self) -> None:
        """Rank 0 only: cache the features of the training videos, list the unreadable ones in RUN/skipped.txt."""
        from lrcn.files import write_text

        skipped = build_features(self.cache, self.videos.train + self.videos.val, self.cfg.data.workers, "training")
        write_text(self.run / "skipped.txt", "".join(f"{line}\n" for line in skipped))

    def setup(self, stage: str) -> None:
        self.train_items = cached(self.cache, self.videos.train)
        self.val_items = cached(self.cache, self.videos.val)
        if not self.train_items:
            raise LrcnError(f"{self.cfg.data.root}: no training video could be decoded")
        if self.cfg.train.reverse_pairs and self.cfg.data.modality == "flow":
            # Reversing a flow clip in time must also negate every flow vector, which cached CNN features cannot do:
            # a reversed "move left" clip would still show leftward flow under the label "move right".
            raise LrcnError("--reverse-pair: time reversal needs RGB (a reversed flow clip keeps its flow's sign); "
                            "drop it for --modality flow")
        t, classes, root = self.cfg.train, self.videos.classes, self.cfg.data.root
        self.reverse = pair_permutation(t.reverse_pairs, classes, "--reverse-pair", root)
        self.mirror = pair_permutation(t.mirror_pairs, classes, "--mirror-pair", root)

    def train_dataloader(self):
        d = self.cfg.data
        if self.cfg.train.finetune:
            clips = TrainFrames(self.cache.spec, self.cache.flow, self.train_items, d.clip_len, d.clips_per_video,
                                self.reverse, self.mirror if d.flip else None)
        else:
            clips = TrainClips(self.cache, self.train_items, d.clip_len, d.clips_per_video, self.reverse, self.mirror)
        workers = d.workers if self.cfg.train.finetune else 0  # cached clips are memory maps: no decoding to spread
        return DataLoader(clips, batch_size=d.batch_size, shuffle=True, drop_last=len(clips) > d.batch_size,
                          num_workers=workers, persistent_workers=workers > 0)

    def val_dataloader(self):
        d = self.cfg.data
        if self.cfg.train.finetune:
            frames = VideoFrames(feature_spec(d, "center"), self.cache.flow, self.val_items)
            return DataLoader(frames, batch_size=1, num_workers=d.workers, persistent_workers=d.workers > 0)
        return DataLoader(VideoClips(self.cache, self.val_items, d.clip_len, d.stride, views=1), batch_size=1)


class ActivityModule(L.LightningModule):
    """A head on cached frame features, or (``finetune``) the CNN and the head on frames, trained with
    cross-entropy at every step (the label repeated)."""

    def __init__(self, config: dict, classes: list[str], feature_dim: int):
        super().__init__()
        self.save_hyperparameters()
        self.cfg = from_dict(ActivityConfig, config)
        self.classes = classes
        self.head = create_head(feature_dim, len(classes), self.cfg.model)
        self.mirror = pair_permutation(self.cfg.train.mirror_pairs, classes, "--mirror-pair", self.cfg.data.root)
        self.backbone = None
        if self.cfg.train.finetune:
            from lrcn.models.backbones import create_backbone

            d = self.cfg.data
            self.backbone = create_backbone(d.backbone, d.pretrained, d.grid, frozen=False)

    @property
    def net(self) -> torch.nn.Module:
        """What a training clip goes through: the head on features, or the CNN and the head on frames."""
        return self.head if self.backbone is None else EndToEnd(self.backbone, self.head)

    def train(self, mode: bool = True):
        """Fine-tuning keeps the CNN's BatchNorm layers in eval mode: their ImageNet statistics stay fixed, their
        scales and shifts train. The 16 frames of a clip are near-copies, so a batch of 24 clips holds ~24 samples
        and its statistics are noisy (worse at the small batches a CPU affords); fixed statistics also make
        training and evaluation compute the same function (TSN's "partial BN", mmaction2's ``norm_eval``)."""
        super().train(mode)
        if self.backbone is not None:
            for m in self.backbone.modules():
                if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
                    m.eval()
        return self

    def on_train_start(self) -> None:
        self.train()  # Lightning keeps the modes it finds (and restores them after validation): set ours

    def setup(self, stage: str) -> None:
        """Fit the input whitening on the training frames (before a resumed checkpoint restores it).

        Fine-tuning fits it once, on the pretrained CNN's cached features, and keeps it fixed while the CNN
        moves (at a tenth of the head's learning rate, slowly): the run starts exactly where a frozen run
        starts, and the head's fc6 adapts to the drift. Refitting each epoch would re-extract every frame.
        """
        whiten = self.head.fc6.whiten
        if stage == "fit" and isinstance(whiten, Whiten):
            dm = self.trainer.datamodule
            whiten.fit(training_frames(dm.cache, dm.train_items))

    def training_step(self, batch, batch_idx):
        clips, labels = batch  # (B, L, D) features or (B, L, 3, S, S) uint8 frames, (B,)
        logits, _ = self.net(clips)  # (B, L, C)
        loss = per_step_loss(logits, labels)
        acc = (logits.mean(1).argmax(-1) == labels).float().mean()
        self.log("train/loss", loss, on_step=True, on_epoch=True, prog_bar=True, batch_size=len(labels))
        self.log("train/clip_acc", acc, on_step=False, on_epoch=True, batch_size=len(labels))
        return loss

    def validation_step(self, batch, batch_idx):
        clips, label = batch  # (1, N, V, L, D), (1,); fine-tuning: frames (1, T, V, 3, S, S)
        if self.backbone is not None:
            d = self.cfg.data
            clips = clips_of(embed_frames(self.backbone, clips[0], d.precision), d.clip_len, d.stride)[None]
        _, probs = predict_clips(self.head, clips[0])
        self.log("val/video_acc", (probs.argmax() == label[0]).float(), on_epoch=True, batch_size=1,
                 sync_dist=True, prog_bar=True)

    def configure_optimizers(self):
        t = self.cfg.train
        groups = [{"params": self.head.parameters()}]
        if self.backbone is not None:
            groups.append({"params": self.backbone.parameters(), "lr": t.lr * t.backbone_lr_mult})
        return torch.optim.AdamW(groups, lr=t.lr, weight_decay=t.weight_decay)


# ---------------------------------------------------------------------------------------------- train


def train(cfg: ActivityConfig, run: Path, resume: bool = False, progress: bool = True) -> Path:
    """Train into the run folder ``run``; returns the best checkpoint."""
    from lrcn.models.backbones import create_backbone
    from lrcn.runs import best_checkpoint, write_run_config
    from lrcn.training import checkpoint_to_resume, make_trainer

    cfg.check()
    run = Path(run)
    ckpt = checkpoint_to_resume(run, resume)
    L.seed_everything(cfg.train.seed, workers=True, verbose=False)
    videos = read_videos(cfg.data)
    if int(os.environ.get("RANK", "0")) == 0:
        write_run_config(run, "activity", cfg)
    d = cfg.data
    feature_dim = create_backbone(d.backbone, pretrained=False, grid=d.grid).feature_dim
    module = ActivityModule(to_dict(cfg), videos.classes, feature_dim)
    datamodule = ActivityDataModule(cfg, videos, run)
    monitor, mode = ("val/video_acc", "max") if videos.val else ("train/loss_epoch", "min")
    # Fine-tuning runs the CNN in training too: in bf16 autocast when its precision says so (~1.4x faster on CPU)
    precision = "bf16-mixed" if cfg.train.finetune and d.precision == "bf16" else "32-true"
    trainer = make_trainer(run, cfg.train.epochs, monitor, mode, progress=progress, resume=resume,
                           gradient_clip_val=cfg.train.grad_clip, num_sanity_val_steps=0,
                           limit_val_batches=1.0 if videos.val else 0, precision=precision)
    trainer.fit(module, datamodule=datamodule, ckpt_path=ckpt)
    return best_checkpoint(run)


# ---------------------------------------------------------------------------------------------- evaluate


def load_module(run: Path) -> ActivityModule:
    from lrcn.runs import best_checkpoint, read_run_config

    task, _ = read_run_config(run)
    if task != "activity":
        raise LrcnError(f"{run}: a {task} run, not an activity run")
    module = ActivityModule.load_from_checkpoint(best_checkpoint(run), map_location="cpu", weights_only=False)
    return module.eval()


@dataclass
class TestScores:
    """Per-video results on a test set: the averaged softmax of each video, and every clip's."""

    classes: list[str]
    paths: list[str]
    labels: np.ndarray  # (N,)
    scores: np.ndarray  # (N, C) video probabilities
    clip_labels: np.ndarray  # (K,)
    clip_scores: np.ndarray  # (K, C)
    skipped: list[str]


def eval_cache(module: ActivityModule, views: str) -> FeatureCache:
    """The cache the run's test features go to: the pretrained CNN's, or its own fine-tuned CNN's (by weights)."""
    d = module.cfg.data
    spec = feature_spec(d, views)
    if module.backbone is None:
        return FeatureCache(cache_root(d), spec)
    backbone = module.backbone.eval()
    return FeatureCache(cache_root(d), replace(spec, weights=weights_key(backbone)), backbone)


def score_test_set(module: ActivityModule, crops: int = 1, cache: Path | None = None, workers: int | None = None) -> TestScores:
    """Run a trained head over its data set's test split (features cached first)."""
    d = module.cfg.data
    if cache is not None:
        d.cache = cache
    if crops not in (1, 10):
        raise LrcnError(f"--crops {crops}: choose 1 (centre) or 10 (corners, centre and mirrors)")
    videos = read_videos(d)
    views = "center" if crops == 1 else "ten"
    fc = eval_cache(module, views)
    skipped = build_features(fc, videos.test, d.workers if workers is None else workers, "test")
    items = cached(fc, videos.test)
    if not items:
        raise LrcnError(f"{d.root}: no test video could be decoded")
    scores, clip_scores, clip_labels = [], [], []
    for clips, label in VideoClips(fc, items, d.clip_len, d.stride):
        per_clip, video = predict_clips(module.head, clips, views, module.mirror)
        scores.append(video.numpy())
        clip_scores.append(per_clip.numpy())
        clip_labels += [label] * len(per_clip)
    return TestScores(module.classes, [str(it.path) for it in items], np.array([it.label for it in items]),
                      np.stack(scores), np.array(clip_labels), np.concatenate(clip_scores), skipped)


def classification_metrics(scores: TestScores) -> dict:
    """Clip and video accuracy, per-class video accuracy and the confusion matrix."""
    from lrcn.metrics.classification import accuracy, confusion_matrix, per_class_accuracy

    predicted = scores.scores.argmax(1)
    cm = confusion_matrix(predicted, scores.labels, len(scores.classes))
    per_class = per_class_accuracy(cm)
    return {
        "video_acc": accuracy(predicted, scores.labels),
        "clip_acc": accuracy(scores.clip_scores.argmax(1), scores.clip_labels) if len(scores.clip_labels) else None,
        "num_videos": len(scores.labels),
        "num_clips": len(scores.clip_labels),
        "per_class": {c: (None if np.isnan(a) else float(a)) for c, a in zip(scores.classes, per_class)},
        "confusion": cm.tolist(),
        "skipped": scores.skipped,
    }


def evaluate(run: Path, crops: int = 1, cache: Path | None = None, fuse_run: Path | None = None,
             weights: tuple[float, float] = (0.5, 0.5), workers: int | None = None) -> dict:
    """Evaluate ``run`` on its test split (optionally fused with a second stream's run).

    Writes ``RUN/metrics.json``, ``RUN/confusion.png`` and ``RUN/scores.npz`` (per-video averaged
    softmax); with ``fuse_run``, ``RUN/fusion-<a>-<b>.json`` and ``RUN/confusion-fusion-<a>-<b>.png``.
    """
    from lrcn.files import atomic_path, write_json
    from lrcn.metrics.classification import fuse, plot_confusion

    run = Path(run)
    module = load_module(run)
    scores = score_test_set(module, crops, cache, workers)
    d = module.cfg.data
    about = {"run": str(run), "data": str(d.root), "split": d.split, "classes": len(scores.classes),
             "arch": module.cfg.model.arch, "modality": d.modality, "backbone": d.backbone,
             "frozen": not module.cfg.train.finetune,
             "crops": crops, "clip_len": d.clip_len, "stride": d.stride, "seed": module.cfg.train.seed}
    metrics = {**about, **classification_metrics(scores)}
    write_json(run / "metrics.json", metrics)
    plot_confusion(np.array(metrics["confusion"]), scores.classes, run / "confusion.png",
                   f"{d.modality} {module.cfg.model.arch}: video acc {metrics['video_acc']:.3f}")
    with atomic_path(run / "scores.npz") as tmp:
        with open(tmp, "wb") as f:
            np.savez(f, classes=np.array(scores.classes), paths=np.array(scores.paths), labels=scores.labels,
                     scores=scores.scores)
    if fuse_run is None:
        return metrics
    other = score_test_set(load_module(Path(fuse_run)), crops, cache, workers)
    if other.classes != scores.classes:
        raise LrcnError(f"{fuse_run}: its classes differ from {run}'s; cannot fuse")
    common = sorted(set(scores.paths) & set(other.paths))
    ia = [scores.paths.index(p) for p in common]
    ib = [other.paths.index(p) for p in common]
    fused = TestScores(scores.classes, common, scores.labels[ia], fuse(scores.scores[ia], other.scores[ib], weights),
                       np.zeros(0, int), np.zeros((0, len(scores.classes))), sorted(set(scores.skipped) | set(other.skipped)))
    tag = f"{weights[0]:g}-{weights[1]:g}"
    fmetrics = {**about, "fused_with": str(fuse_run), "weights": list(weights), **classification_metrics(fused)}
    write_json(run / f"fusion-{tag}.json", fmetrics)
    plot_confusion(np.array(fmetrics["confusion"]), scores.classes, run / f"confusion-fusion-{tag}.png",
                   f"fusion {tag}: video acc {fmetrics['video_acc']:.3f}")
    return {**metrics, "fusion": fmetrics}


# ---------------------------------------------------------------------------------------------- predict


class Stream:
    """One trained run, from a video file to its averaged softmax: decode, CNN per frame, head, average."""

    def __init__(self, run: Path):
        from lrcn.models.backbones import create_backbone

        self.module = load_module(run)
        d = self.module.cfg.data
        self.spec = feature_spec(d, "center")
        self.read = frame_source(self.spec.source)
        backbone = self.module.backbone  # a fine-tuned run's own CNN
        if backbone is None:
            backbone = create_backbone(d.backbone, d.pretrained, d.grid, frozen=True)
        self.backbone = backbone.to(memory_format=torch.channels_last)

    def features(self, path) -> torch.Tensor:
        """(T, 1, D) float16 frame features, computed as the feature cache computes them."""
        views = crop_views(to_tensor(self.read(Path(path), self.spec.decode_size)), self.spec.image_size, "center")
        return embed_frames(self.backbone, views, self.spec.precision)  # (T, 1, D)

    def scores(self, path) -> np.ndarray:
        d = self.module.cfg.data
        return predict_clips(self.module.head, clips_of(self.features(path), d.clip_len, d.stride))[1].numpy()


class ActivityPredictor:
    """``predict(path)`` -> ``{"path", "label", "score", "top": [{"label", "score"}]}`` (one ``--json`` line).

    Several runs (e.g. RGB and flow streams) are fused with ``weights``, as the paper's late fusion.
    """

    def __init__(self, streams: list[Stream], weights: tuple[float, ...] = (1.0,), top_k: int = 5):
        classes = streams[0].module.classes
        for s in streams[1:]:
            if s.module.classes != classes:
                raise LrcnError("cannot fuse runs trained on different classes")
        self.streams, self.weights, self.classes, self.top_k = streams, weights, classes, top_k

    def scores(self, path) -> np.ndarray:
        return sum(w * s.scores(path) for s, w in zip(self.streams, self.weights))

    def predict(self, path) -> dict:
        probs = self.scores(path)
        top = np.argsort(-probs, kind="stable")[: self.top_k]
        return {"path": str(path), "label": self.classes[top[0]], "score": float(probs[top[0]]),
                "top": [{"label": self.classes[i], "score": float(probs[i])} for i in top]}


def load_predictor(run, fuse: list | None = None, weights: tuple[float, ...] | None = None, top_k: int = 5) -> ActivityPredictor:
    runs = [Path(run), *map(Path, fuse or [])]
    if weights is None:
        weights = tuple(1 / len(runs) for _ in runs)
    if len(weights) != len(runs):
        raise LrcnError(f"--weights: {len(weights)} weights for {len(runs)} runs")
    return ActivityPredictor([Stream(r) for r in runs], tuple(weights), top_k)
