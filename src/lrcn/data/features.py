"""Frame feature cache: each frame goes through a frozen CNN once, and every model reuses the result.

Layout: ``<root>/<spec key>/<item key>.npy``, one float16 array (T, V, D) per video or image
(T frames, V views, D feature size), memory-mapped on read. The spec key hashes everything that
changes the numbers (backbone, weights, grid, image size, views, frame source, precision); the
item key hashes the file's absolute path, size and modification time, so an edited video gets new
features and a changed spec gets a new folder. Entries are written to a temporary file and renamed:
an interrupted build resumes where it stopped and never reads a half-written entry.
"""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path
from typing import Callable, Iterator, Sequence

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from lrcn.data.transforms import CROP_RATIO, VIEWS, crop_views, hflip, to_tensor
from lrcn.errors import LrcnError
from lrcn.files import atomic_path, write_json
from lrcn.progress import track

CACHE_VERSION = 1


@dataclass(frozen=True)
class FeatureSpec:
    """What a cached feature depends on."""

    backbone: str = "efficientnet_lite0"
    pretrained: bool = True
    grid: int = 3
    image_size: int = 224
    views: str = "center"
    source: str = "rgb"  # "rgb", "image", or "flow-<method>" (see frame_source)
    precision: str = "bf16"  # "bf16" (autocast) or "fp32"
    flow_side: int = 320  # flow sources: flow is computed with the video's longer side capped at this
    weights: str = ""  # a fine-tuned CNN's weights_key ("": the registry's pretrained or seeded weights)

    def key(self) -> str:
        fields = asdict(self)
        if not self.weights:
            del fields["weights"]  # the registry's weights: the key of a cache written before fine-tuning existed
        blob = json.dumps({"version": CACHE_VERSION, **fields}, sort_keys=True)
        return f"{self.backbone}-{self.source}-{self.image_size}-{hashlib.sha1(blob.encode()).hexdigest()[:10]}"

    @property
    def decode_size(self) -> int:
        return round(self.image_size / CROP_RATIO)


def frame_source(name: str, flow_side: int = 320, flow_cache: Path | None = None) -> Callable[[Path, int], np.ndarray]:
    """``name`` -> function(path, size) returning (T, size, size, 3) uint8 frames to feed the CNN.

    Flow sources read through the flow cache ``flow_cache`` when given, so the flow of a video is
    computed once however many feature specs (views, sizes, backbones) read it.
    """
    if name == "rgb":
        from lrcn.data.video import read_video

        return lambda path, size: read_video(path, size=(size, size))
    if name == "image":
        from lrcn.data.images import load_image

        return lambda path, size: np.array(load_image(path, size=(size, size)))[None]
    if name.startswith("flow-"):
        from lrcn.data.flow import read_flow_images

        method = name.removeprefix("flow-")
        return lambda path, size: read_flow_images(path, method, (size, size), cache=flow_cache, max_side=flow_side)
    raise ValueError(f"unknown frame source {name!r}")


def mirror_of(source: str) -> Callable[[torch.Tensor], torch.Tensor]:
    """How to mirror (..., 3, H, W) images of a frame source: a plain flip, or for flow also negating x."""
    if source.startswith("flow-"):
        from lrcn.data.flow import flip_flow_images

        return partial(flip_flow_images, channel_axis=-3)
    return hflip


def weights_key(net: torch.nn.Module) -> str:
    """A short hash of a network's parameters and buffers: names the features of a fine-tuned CNN."""
    h = hashlib.sha1()
    for name, tensor in net.state_dict().items():
        h.update(name.encode())
        h.update(tensor.detach().cpu().contiguous().view(-1).view(torch.uint8).numpy().tobytes())
    return h.hexdigest()[:12]


@torch.inference_mode()
def embed_frames(backbone: torch.nn.Module, frames: torch.Tensor, precision: str, batch_size: int = 64) -> torch.Tensor:
    """(..., 3, S, S) uint8 frames -> (..., D) float16 features: channels-last, in batches, bf16 autocast if asked."""
    flat = frames.flatten(0, -4).contiguous(memory_format=torch.channels_last)  # (N, 3, S, S)
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == "bf16"):
        out = [backbone(chunk).to(torch.float16) for chunk in flat.split(batch_size)]
    with torch.autocast("cpu", enabled=False):  # cat under autocast (ours, or a trainer's bf16) rejects float16
        return torch.cat(out).view(*frames.shape[:-3], -1)


def item_key(path: str | os.PathLike) -> str:
    path = Path(path).resolve()
    st = path.stat()
    return hashlib.sha1(f"{path}|{st.st_size}|{st.st_mtime_ns}".encode()).hexdigest()[:20]


class DecodedViews(Dataset):
    """Decodes items in worker processes: index -> (index, (T, V, 3, S, S) uint8) or (index, error line)."""

    def __init__(self, paths: Sequence[Path], spec: FeatureSpec, flow_cache: Path):
        self.paths, self.spec = paths, spec
        self.read = frame_source(spec.source, spec.flow_side, flow_cache)
        self.mirror = mirror_of(spec.source)

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, i: int):
        try:
            frames = self.read(self.paths[i], self.spec.decode_size)
        except LrcnError as e:
            return i, str(e)
        return i, crop_views(to_tensor(frames), self.spec.image_size, self.spec.views, self.mirror)


class FeatureCache:
    """Features of a fixed :class:`FeatureSpec` for any number of files.

    ``backbone``: the CNN to run, for a fine-tuned one (``spec.weights`` is then its :func:`weights_key`);
    by default the registry's, built from the spec.
    """

    def __init__(self, root: str | os.PathLike, spec: FeatureSpec, backbone: torch.nn.Module | None = None):
        if spec.views not in VIEWS:
            raise LrcnError(f"views {spec.views!r}: choose from {', '.join(VIEWS)}")
        if (backbone is not None) != bool(spec.weights):
            raise ValueError("a FeatureCache of a fine-tuned backbone needs both the backbone and spec.weights")
        self.spec, self.backbone = spec, backbone
        self.root = Path(root)
        self.dir = self.root / spec.key()
        self.flow = self.root / "flow"  # the flow cache every spec of a flow source reads through

    def entry(self, path: str | os.PathLike) -> Path:
        return self.dir / f"{item_key(path)}.npy"

    def load(self, path: str | os.PathLike) -> np.ndarray:
        """(T, V, D) float16, memory-mapped. Call :meth:`build` first."""
        return np.load(self.entry(path), mmap_mode="r")

    def build(self, paths: Sequence[str | os.PathLike], batch_size: int = 64, workers: int = 1,
              description: str = "features") -> dict[str, str]:
        """Compute the features of every file not yet cached. Returns {path: error line} for the files skipped."""
        errors: dict[str, str] = {}
        todo: list[Path] = []
        for p in map(Path, paths):
            try:
                if not self.entry(p).exists():
                    todo.append(p)
            except OSError as e:
                errors[str(p)] = f"{p}: {e.strerror or e}"
        if not todo:
            return errors
        self.dir.mkdir(parents=True, exist_ok=True)
        write_json(self.dir / "spec.json", asdict(self.spec))
        backbone = self.backbone
        if backbone is None:
            from lrcn.models.backbones import create_backbone

            backbone = create_backbone(self.spec.backbone, self.spec.pretrained, self.spec.grid, frozen=True)
        backbone = backbone.to(memory_format=torch.channels_last)
        loader = DataLoader(DecodedViews(todo, self.spec, self.flow), batch_size=None, num_workers=workers,
                            prefetch_factor=4 if workers else None, persistent_workers=False)
        for i, result in self._embed(backbone, track(loader, description, total=len(todo)), batch_size):
            if isinstance(result, str):
                errors[str(todo[i])] = result
            else:
                with atomic_path(self.entry(todo[i])) as tmp:
                    with open(tmp, "wb") as f:
                        np.save(f, result)
        return errors

    def _embed(self, backbone, decoded, batch_size: int) -> Iterator[tuple[int, np.ndarray | str]]:
        """Run the CNN over frames gathered across items into batches; yield each item's (T, V, D) float16."""
        buffer: list[tuple[int, torch.Tensor]] = []
        buffered = 0
        for i, views in decoded:
            if isinstance(views, str):
                yield i, views
                continue
            buffer.append((i, views))
            buffered += views.shape[0] * views.shape[1]
            if buffered >= batch_size:
                yield from self._flush(backbone, buffer, batch_size)
                buffer, buffered = [], 0
        yield from self._flush(backbone, buffer, batch_size)

    def _flush(self, backbone, buffer, batch_size: int) -> Iterator[tuple[int, np.ndarray]]:
        if not buffer:
            return
        frames = torch.cat([v.flatten(0, 1) for _, v in buffer])  # (N, 3, S, S) uint8
        feats = embed_frames(backbone, frames, self.spec.precision, batch_size)  # (N, D)
        offset = 0
        for i, views in buffer:
            t, v = views.shape[:2]
            yield i, feats[offset : offset + t * v].view(t, v, -1).numpy()
            offset += t * v
