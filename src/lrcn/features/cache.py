"""Frame feature cache: each frame goes through the CNN once, and every model that reads it reuses the result.

Layout: ``<root>/<spec key>/<file fingerprint>.npy``, one array (T, V, D) per video or image (T frames, V views,
D feature size): float16, memory-mapped on read, or 8-bit codes with a per-vector scale (``--cache-format uint8``,
:mod:`lrcn.features.store`). The spec key hashes everything that changes the numbers
(:class:`~lrcn.features.spec.FeatureSpec`); the fingerprint hashes the file's absolute path, size and
modification time, so an edited video gets new features and a changed spec gets a new folder. Flow images
are cached beside them (``<root>/flow-*``, :class:`lrcn.data.flow.FlowCache`). Entries are written to a
temporary file and renamed: an interrupted build resumes where it stopped and never reads a half-written entry.
Several processes fill one cache together (``torchrun ... lrcn features``, DDP training): each computes its share
of the missing files and skips an entry that another process wrote meanwhile.

The root is one place for every task and run (:func:`lrcn.features.root.cache_root`).
"""
from __future__ import annotations

import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from lrcn import distributed
from lrcn.data.transforms import VIEWS
from lrcn.device import loader_workers
from lrcn.errors import LrcnError, WriteError
from lrcn.features.extractor import Extractor
from lrcn.features.inputs import frame_views
from lrcn.features.root import cache_root
from lrcn.features.spec import FeatureSpec
from lrcn.features.store import decode, encode
from lrcn.files import atomic_path, fingerprint, sweep_temporaries, write_json
from lrcn.progress import track


class DecodedViews(Dataset):
    """Decodes files in worker processes: index -> (index, (T, V, 3, S, S) uint8), (index, error line), (index,
    WriteError) when the flow cache could not be written, or (index, None) when the file's entry appeared meanwhile
    (another process computed it)."""

    def __init__(self, paths: Sequence[Path], entries: Sequence[Path], spec: FeatureSpec, flow_cache: Path):
        self.paths, self.entries, self.spec, self.flow_cache = paths, entries, spec, flow_cache

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, i: int):
        if self.entries[i].exists():
            return i, None
        try:
            return i, frame_views(self.paths[i], self.spec, self.flow_cache)
        except WriteError as e:  # the flow cache could not be written: not this file's fault; stops the build
            return i, e
        except LrcnError as e:
            return i, str(e)


@dataclass
class BuildStats:
    """What one :meth:`FeatureCache.build` did in this process: entries written, frames (x views) through the CNN, the
    wall time of the pass and the part of it the CNN was busy (decoding and flow run meanwhile in workers)."""

    entries: int = 0
    frames: int = 0
    seconds: float = 0.0
    cnn_seconds: float = 0.0

    def line(self) -> str:
        rate = self.frames / self.seconds if self.seconds else 0.0
        busy = self.cnn_seconds / self.seconds if self.seconds else 0.0
        return (f"computed {self.entries} entries, {self.frames} frames in {self.seconds:.1f} s ({rate:.0f} frames/s), "
                f"CNN busy {busy:.0%}")


class FeatureCache:
    """Features of one :class:`FeatureSpec` for any number of files, computed by ``extractor`` when missing (by
    default the registry's CNN for the spec, built on first use, on ``device``)."""

    def __init__(self, root: str | os.PathLike | None, spec: FeatureSpec, extractor: Extractor | None = None,
                 device: str | torch.device = "auto"):
        if spec.views not in VIEWS:
            raise LrcnError(f"views {spec.views!r}: choose from {', '.join(VIEWS)}")
        self.spec, self._extractor, self.device = spec, extractor, device
        self.root = cache_root(root)
        self.dir = self.root / spec.key()
        self.flow = self.root / "flow"  # the flow cache every spec of a flow source reads through
        self.stats = BuildStats()  # what the last build did in this process

    @property
    def extractor(self) -> Extractor:
        if self._extractor is None:
            self._extractor = Extractor(self.spec, self.device, flow_cache=self.flow, model_cache=self.root)
        return self._extractor

    def entry(self, path: str | os.PathLike) -> Path:
        return self.dir / f"{fingerprint(path)}.npy"

    def has(self, path: str | os.PathLike) -> bool:
        try:
            return self.entry(path).exists()
        except OSError:
            return False

    def load(self, path: str | os.PathLike) -> np.ndarray:
        """(T, V, D) float16 (memory-mapped for the fp16 store). Call :meth:`build` first."""
        return decode(np.load(self.entry(path), mmap_mode="r"), self.spec.store)

    def build(self, paths: Sequence[str | os.PathLike], workers: int | None = None, description: str = "features"
              ) -> dict[str, str]:
        """Compute the features of every file not yet cached, decoded in ``workers`` processes (None: sized from the
        machine, :func:`lrcn.device.loader_workers`): under torchrun, this rank's share of them, the ranks meeting when
        all are done (:mod:`lrcn.distributed`). Returns {path: error line} for the files skipped (every rank's);
        ``self.stats`` says what this process did."""
        distributed.init()
        errors: dict[str, str] = {}
        todo: list[str] = []
        sweep_temporaries(self.dir)  # what a build killed mid-write left
        for p in (str(Path(x)) for x in paths):
            try:
                if not self.entry(p).exists():
                    todo.append(p)
            except OSError as e:
                errors[p] = f"{p}: {e.strerror or e}"
        mine = [Path(p) for p in distributed.share_of(sorted(set(todo)))]
        self.stats = BuildStats()
        if mine:
            self.dir.mkdir(parents=True, exist_ok=True)
            write_json(self.dir / "spec.json", asdict(self.spec))
            self.extractor.engine  # built (or converted) before the clock starts
            views = DecodedViews(mine, [self.entry(p) for p in mine], self.spec, self.flow)
            n = int(loader_workers(workers, self.extractor.device).value)
            loader = DataLoader(views, batch_size=None, num_workers=n, prefetch_factor=4 if n else None,
                                persistent_workers=False)
            start = time.perf_counter()
            for i, result in self._embed(track(loader, description, total=len(mine))):
                if isinstance(result, WriteError):
                    raise result
                if isinstance(result, str):
                    errors[str(mine[i])] = result
                elif result is not None:
                    stored = encode(result, self.spec.store)
                    with atomic_path(self.entry(mine[i]), needed=stored.nbytes) as tmp, open(tmp, "wb") as f:
                        np.save(f, stored)
                    self.stats.entries += 1
                    self.stats.frames += result.shape[0] * result.shape[1]
            self.stats.seconds = time.perf_counter() - start
        return distributed.gather(errors)

    def _embed(self, decoded) -> Iterator[tuple[int, np.ndarray | str]]:
        """Run the CNN over frames gathered across files into batches; yield each file's (T, V, D) float16."""
        buffer: list[tuple[int, torch.Tensor]] = []
        buffered = 0
        for i, views in decoded:
            if not isinstance(views, torch.Tensor):  # None, an error line or a WriteError
                yield i, views
                continue
            buffer.append((i, views))
            buffered += views.shape[0] * views.shape[1]
            if buffered >= self.extractor.batch_size:
                yield from self._flush(buffer)
                buffer, buffered = [], 0
        yield from self._flush(buffer)

    def _flush(self, buffer) -> Iterator[tuple[int, np.ndarray]]:
        if not buffer:
            return
        start = time.perf_counter()
        feats = self.extractor.embed(torch.cat([v.flatten(0, 1) for _, v in buffer]))  # (N, D)
        self.stats.cnn_seconds += time.perf_counter() - start
        offset = 0
        for i, views in buffer:
            t, v = views.shape[:2]
            yield i, feats[offset : offset + t * v].view(t, v, -1).numpy()
            offset += t * v
