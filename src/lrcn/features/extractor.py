"""The one place a CNN runs on frames: the feature cache, every predictor and fine-tuning's validation use it.

:func:`embed` is the PyTorch function (frames in, features out, on the CNN's device, in batches, channels-last,
under autocast); :class:`Extractor` holds a CNN for a :class:`~lrcn.features.spec.FeatureSpec` on a device, run by
the spec's engine (:mod:`lrcn.features.engines`: PyTorch, OpenVINO or ONNX Runtime).
"""
from __future__ import annotations

import hashlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import torch

from lrcn.device import pin_memory, resolve
from lrcn.features.engines import Engine, model_key, onnxruntime_engine, openvino_engine, torch_engine
from lrcn.features.inputs import Input, frame_views
from lrcn.features.spec import FeatureSpec
from lrcn.models.backbones import create_backbone


@torch.inference_mode()
def embed(backbone: torch.nn.Module, frames: torch.Tensor, precision: str, batch_size: int = 64) -> torch.Tensor:
    """(..., 3, S, S) uint8 frames -> (..., D) float16 features on the CNN's device."""
    return run_batches(torch_engine(backbone, precision), frames, batch_size)


@torch.inference_mode()
def run_batches(engine: Engine, frames: torch.Tensor, batch_size: int) -> torch.Tensor:
    """(..., 3, S, S) uint8 frames through ``engine`` in batches of ``batch_size`` -> (..., D) float16."""
    out = [engine(chunk) for chunk in frames.flatten(0, -4).split(batch_size)]  # (n, 3, S, S) -> (n, D)
    with torch.autocast(out[0].device.type, enabled=False):  # cat under autocast (a trainer's) rejects float16
        return torch.cat(out).view(*frames.shape[:-3], -1)


def weights_key(net: torch.nn.Module) -> str:
    """A short hash of a network's parameters and buffers: names the features of a fine-tuned CNN."""
    h = hashlib.sha1()
    for name, tensor in net.state_dict().items():
        h.update(name.encode())
        h.update(tensor.detach().cpu().contiguous().view(-1).view(torch.uint8).numpy().tobytes())
    return h.hexdigest()[:12]


class Extractor:
    """A CNN for ``spec`` on ``device``, run by ``spec.engine``: any input -> (T, V, D) float16 features (on the CPU).

    ``backbone``: a run's own CNN (fine-tuned, or carried by an export; its features are then keyed by its
    :func:`weights_key`); by default the spec's, built from it (for another engine, only when it must be converted).
    ``model_cache``: the cache root where converted models are kept (default: :func:`~lrcn.features.cache.cache_root`).
    """

    def __init__(self, spec: FeatureSpec, device: str | torch.device = "auto", backbone: torch.nn.Module | None = None,
                 flow_cache: Path | None = None, batch_size: int = 64, model_cache: Path | None = None):
        if backbone is not None and not spec.weights:
            spec = replace(spec, weights=weights_key(backbone))
        self.spec, self.flow_cache, self.batch_size, self.model_cache = spec, flow_cache, batch_size, model_cache
        self.device = resolve(device)
        self._backbone, self._engine = backbone, None

    @property
    def backbone(self) -> torch.nn.Module:
        """The PyTorch CNN (the spec's is built on first use: an engine whose model is on disk never needs it)."""
        if self._backbone is None:
            s = self.spec
            self._backbone = create_backbone(s.backbone, s.backbone_weights, s.grid, frozen=True)
        return self._backbone

    @property
    def engine(self) -> Engine:
        """The spec's engine, built on first use (an engine's converted model is read from, or written to, disk);
        PyTorch where the CNN does not convert, or its conversion disagrees with PyTorch."""
        if self._engine is None:
            s = self.spec
            converted = None
            if s.engine != "torch":
                fields = {"backbone": s.backbone, "pretrained": s.pretrained, "grid": s.grid, "image_size": s.image_size}
                key = model_key({**fields, **{k: v for k, v in (("sha256", s.backbone_sha256), ("weights", s.weights))
                                              if v}})
                converted = openvino_engine(self._cpu_backbone, s.image_size, s.precision, key, self.model_cache) \
                    if s.engine == "openvino" else \
                    onnxruntime_engine(self._cpu_backbone, s.image_size, key, self.model_cache)
            self._engine = converted or torch_engine(
                self.backbone.eval().to(self.device, memory_format=torch.channels_last), s.precision)
        return self._engine

    def _cpu_backbone(self) -> torch.nn.Module:
        """What the CPU engines convert (and check against)."""
        return self.backbone.eval().cpu()

    def embed(self, frames: torch.Tensor) -> torch.Tensor:
        """(..., 3, S, S) uint8 -> (..., D) float16 on the CPU. For a GPU the frames are page-locked first, so each
        batch's copy runs beside the CNN on the one before (``non_blocking``); the features come back once."""
        if pin_memory(self.device) and frames.device.type == "cpu":
            frames = frames.pin_memory()
        return run_batches(self.engine, frames, self.batch_size).cpu()

    def views(self, x: Input, name: str | None = None) -> torch.Tensor:
        """Any input (:mod:`lrcn.features.inputs`) -> the crops this CNN reads, (T, V, 3, S, S) uint8."""
        return frame_views(x, self.spec, self.flow_cache, name)

    def __call__(self, x: Input, name: str | None = None) -> torch.Tensor:
        """Any input -> (T, V, D) float16 on the CPU. The first call builds the engine while it decodes ``x``."""
        if self._engine is None:
            with ThreadPoolExecutor(1, thread_name_prefix="lrcn-engine") as pool:
                engine = pool.submit(lambda: self.engine)
                views = self.views(x, name)
                engine.result()
            return self.embed(views)
        return self.embed(self.views(x, name))
