"""Activity data: the index and its splits, training and test clips (cached features or decoded frames), and the
DataModule that caches the features first."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import lightning as L
import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from lrcn import distributed
from lrcn.data.epochs import EpochShuffle, generator
from lrcn.data.loading import loader
from lrcn.data.transforms import mirrored, random_clip_crop, random_clip_indices, time_reversed, to_tensor
from lrcn.errors import LrcnError
from lrcn.features.cache import FeatureCache
from lrcn.features.inputs import frame_views, mirror_of, read_frames
from lrcn.features.spec import FeatureSpec
from lrcn.files import write_text
from lrcn.models.activity import clips_of
from lrcn.tasks.activity.config import ActivityConfig, ActivityDataConfig

log = logging.getLogger(__name__)


@dataclass
class VideoSet:
    classes: list[str]
    train: list  # VideoItem(path, label, group)
    val: list
    test: list


def read_videos(cfg: ActivityDataConfig) -> VideoSet:
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


def build_features(cache: FeatureCache, items: list, workers: int | None, what: str) -> list[str]:
    """Cache the features of ``items``; return (and log) one line per video that could not be read."""
    errors = cache.build([it.path for it in items], workers=workers, description=f"{what} features")
    for line in errors.values():
        log.warning("skipped: %s", line)
    return list(errors.values())


def training_views(cfg: ActivityConfig) -> str:
    """The views the training videos are cached with: the centre crop, and with ``--flip`` its mirror too."""
    return "center+flip" if cfg.data.flip else "center"


def feature_jobs(cfg: ActivityConfig, cache_dir: Path | None, device) -> list[tuple[FeatureCache, list[Path]]]:
    """What ``lrcn features --task activity`` fills, the entries train and eval read: the training views of the
    training and validation videos, the centre crop of the test videos (``eval --crops 1``)."""
    videos = read_videos(cfg.data)
    train = FeatureCache(cache_dir, cfg.features.spec(training_views(cfg), cfg.source, device=device), device=device)
    test = FeatureCache(cache_dir, cfg.features.spec("center", cfg.source, device=device), device=device)
    paths = [it.path for it in videos.train + videos.val]
    if test.dir == train.dir:
        return [(train, paths + [it.path for it in videos.test])]
    return [(train, paths), (test, [it.path for it in videos.test])]


def cached(cache: FeatureCache, items: list) -> list:
    """The items whose features are in the cache (the others failed to decode)."""
    return [it for it in items if cache.has(it.path)]


class Whitened:
    """The cached features of videos through a fixed whitening (the head's first map), computed once per video and
    kept in memory: ``load(path)`` -> (T, V, k) float32, 1 KB a frame at k = 256 against 22.5 KB for Lite0's raw
    3x3 grid (UCF101's 2.5 M frames: 2.5 GB of memory per stream). Training on a frozen CNN's cache then reads
    k-wide clips, and no step repeats the (B*L, D) @ (D, k) product of the frames it drew: the demo's 20-epoch RGB
    LRCN trained in 30 s instead of ~75 s (AMX Xeon, 2 cores)."""

    def __init__(self, cache: FeatureCache, whiten: torch.nn.Module):
        self.cache, self.whiten, self.memo = cache, whiten, {}

    @torch.no_grad()
    def load(self, path: Path) -> np.ndarray:
        """(T, V, k) float32 on the CPU, whitened where the whitening lives (the trainer moves it to its device)."""
        if path not in self.memo:
            device = self.whiten.mean.device
            feats = torch.from_numpy(np.asarray(self.cache.load(path), np.float32)).to(device)  # (T, V, D)
            self.memo[path] = self.whiten(feats).cpu().numpy()
        return self.memo[path]

    def fill(self, items: list) -> None:
        """Whiten every video of ``items`` now (before the first step: on a GPU, each copy back is a sync, and the
        steps should never wait on one)."""
        for it in items:
            self.load(it.path)


class TrainClips(Dataset):
    """Random clips of cached features: (index, seed) -> ((clip_len, D) float32, label), the draws from ``seed``
    (:class:`~lrcn.data.epochs.EpochShuffle`). A random view (crop/mirror) per clip. ``features``: where a video's
    (T, V, D) features come from (default: ``cache.load``; a :class:`Whitened` cache's ``load``).

    ``mirror`` and ``reverse`` are class permutations (``pair_permutation``): the label of a mirrored view goes
    through ``mirror``; a class that ``reverse`` moves is played backwards half the time, as its pair.
    """

    def __init__(self, cache: FeatureCache, items: list, clip_len: int, clips_per_video: int,
                 reverse: list[int], mirror: list[int], features: Callable[[Path], np.ndarray] | None = None):
        self.items, self.clip_len, self.reverse, self.mirror = items, clip_len, reverse, mirror
        self.features = features or cache.load
        self.mirrored = mirrored(cache.spec.views)
        self.length = len(items) * clips_per_video

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, key: tuple[int, int]):
        i, seed = key
        g, item = generator(seed), self.items[i % len(self.items)]
        feats = self.features(item.path)  # (T, V, D)
        idx = random_clip_indices(len(feats), self.clip_len, g)
        view = int(torch.randint(0, feats.shape[1], (), generator=g))
        clip = torch.from_numpy(feats[idx, view].astype(np.float32))  # (L, D)
        label = self.mirror[item.label] if self.mirrored[view] else item.label
        return time_reversed(clip, label, self.reverse, g)


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
    """Random clips of decoded frames, for fine-tuning: (index, seed) -> ((clip_len, 3, S, S) uint8, label), the draws
    from ``seed`` (:class:`~lrcn.data.epochs.EpochShuffle`).

    One random crop for the whole clip, as the authors' sequence_input_layer. ``mirror`` and ``reverse`` are class
    permutations (``pair_permutation``): with ``mirror``, half the clips are mirrored and their label goes through
    it (None: never mirrored); a class that ``reverse`` moves is played backwards half the time, as its pair.
    """

    def __init__(self, spec: FeatureSpec, flow_cache: Path, items: list, clip_len: int, clips_per_video: int,
                 reverse: list[int], mirror: list[int] | None):
        self.spec, self.flow_cache, self.items = spec, flow_cache, items
        self.clip_len, self.reverse, self.mirror = clip_len, reverse, mirror
        self.flip = mirror_of(spec.source)
        self.length = len(items) * clips_per_video

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, key: tuple[int, int]):
        i, seed = key
        g, item, s = generator(seed), self.items[i % len(self.items)], self.spec
        frames = read_frames(item.path, s.source, s.decode_size, self.flow_cache, s.flow_side)  # (T, S', S', 3)
        clip = to_tensor(frames[random_clip_indices(len(frames), self.clip_len, g)])  # (L, 3, S', S')
        flipped = self.mirror is not None and bool(torch.rand((), generator=g) < 0.5)
        clip = random_clip_crop(clip, s.image_size, g, mirror=self.flip if flipped else None)  # (L, 3, S, S)
        label = self.mirror[item.label] if flipped else item.label
        return time_reversed(clip, label, self.reverse, g)


class VideoFrames(Dataset):
    """Whole videos' frames for validating a fine-tuned CNN: index -> ((T, V, 3, S, S) uint8 views, label)."""

    def __init__(self, spec: FeatureSpec, flow_cache: Path, items: list):
        self.spec, self.flow_cache, self.items = spec, flow_cache, items

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i: int):
        return frame_views(self.items[i].path, self.spec, self.flow_cache), self.items[i].label


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
    """Caches the training videos' features (each rank its share), then serves random training clips and whole
    validation videos."""

    def __init__(self, cfg: ActivityConfig, videos: VideoSet, run: Path, cache_dir: Path | None, device: torch.device):
        super().__init__()
        self.cfg, self.videos, self.run, self.device = cfg, videos, run, device
        self.whitened: Whitened | None = None  # set by the module once it has fitted its whitening (a frozen CNN)
        self.cache = FeatureCache(cache_dir, cfg.features.spec(training_views(cfg), cfg.source, device=device),
                                  device=device)
        if cfg.train.reverse_pairs and cfg.data.modality == "flow":
            # Reversing a flow clip in time must also negate every flow vector, which cached CNN features cannot do:
            # a reversed "move left" clip would still show leftward flow under the label "move right".
            raise LrcnError("--reverse-pair: time reversal needs RGB (a reversed flow clip keeps its flow's sign); "
                            "drop it for --modality flow")
        t, classes, root = cfg.train, videos.classes, cfg.data.root
        self.reverse = pair_permutation(t.reverse_pairs, classes, "--reverse-pair", root)
        self.mirror = pair_permutation(t.mirror_pairs, classes, "--mirror-pair", root)

    def setup(self, stage: str) -> None:
        """Every rank: cache its share of the training videos' features (the ranks meet when all are done, so N
        processes fill the cache N times faster), then list the unreadable ones in RUN/skipped.txt (rank 0)."""
        skipped = build_features(self.cache, self.videos.train + self.videos.val, self.cfg.data.workers, "training")
        if distributed.is_main():
            write_text(self.run / "skipped.txt", "".join(f"{line}\n" for line in skipped))
        self.train_items = cached(self.cache, self.videos.train)
        self.val_items = cached(self.cache, self.videos.val)
        if not self.train_items:
            raise LrcnError(f"{self.cfg.data.root}: no training video could be decoded")

    def _loader(self, dataset: Dataset, shuffle: bool, batch_size: int, workers: int | None) -> DataLoader:
        sampler = EpochShuffle(len(dataset), self.cfg.train.seed, self.trainer.current_epoch, draws=True) \
            if shuffle else None
        return loader(dataset, self.device, workers, batch_size=batch_size, sampler=sampler,
                      drop_last=shuffle and len(dataset) > batch_size)

    def train_dataloader(self):
        d = self.cfg.data
        if self.cfg.train.finetune:
            clips = TrainFrames(self.cache.spec, self.cache.flow, self.train_items, d.clip_len, d.clips_per_video,
                                self.reverse, self.mirror if d.flip else None)
            return self._loader(clips, True, d.batch_size, d.workers)
        clips = TrainClips(self.cache, self.train_items, d.clip_len, d.clips_per_video, self.reverse, self.mirror,
                           self.whitened.load if self.whitened else None)
        return self._loader(clips, True, d.batch_size, 0)  # cached clips are memory maps: no decoding to spread

    def val_dataloader(self):
        d = self.cfg.data
        if self.cfg.train.finetune:
            frames = VideoFrames(self.cfg.features.spec("center", self.cfg.source), self.cache.flow, self.val_items)
            return self._loader(frames, False, 1, d.workers)
        return self._loader(VideoClips(self.cache, self.val_items, d.clip_len, d.stride, views=1), False, 1, 0)
