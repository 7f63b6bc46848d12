"""The one place a CNN runs on frames: the feature cache, every predictor and fine-tuning's validation use it.

:func:`embed` is the function (frames in, features out, on the CNN's device, in batches, channels-last, under
autocast); :class:`Extractor` holds a CNN for a :class:`~lrcn.features.spec.FeatureSpec` on a device.
"""
from __future__ import annotations

import hashlib
from dataclasses import replace
from pathlib import Path

import torch

from lrcn.device import autocast, resolve
from lrcn.features.inputs import Input, frame_views
from lrcn.features.spec import FeatureSpec


@torch.inference_mode()
def embed(backbone: torch.nn.Module, frames: torch.Tensor, precision: str, batch_size: int = 64) -> torch.Tensor:
    """(..., 3, S, S) uint8 frames -> (..., D) float16 features on the CNN's device."""
    device = next(backbone.parameters()).device
    flat = frames.flatten(0, -4)  # (N, 3, S, S)
    out = []
    with autocast(device, precision):
        for chunk in flat.split(batch_size):
            chunk = chunk.to(device, non_blocking=True).contiguous(memory_format=torch.channels_last)
            out.append(backbone(chunk).to(torch.float16))
    with torch.autocast(device.type, enabled=False):  # cat under autocast (ours, or a trainer's) rejects float16
        return torch.cat(out).view(*frames.shape[:-3], -1)


def weights_key(net: torch.nn.Module) -> str:
    """A short hash of a network's parameters and buffers: names the features of a fine-tuned CNN."""
    h = hashlib.sha1()
    for name, tensor in net.state_dict().items():
        h.update(name.encode())
        h.update(tensor.detach().cpu().contiguous().view(-1).view(torch.uint8).numpy().tobytes())
    return h.hexdigest()[:12]


class Extractor:
    """A CNN for ``spec`` on ``device``: any input -> (T, V, D) float16 features (on the CPU).

    ``backbone``: a run's own fine-tuned CNN (its features are then keyed by its :func:`weights_key`); by default
    the registry's, built from the spec.
    """

    def __init__(self, spec: FeatureSpec, device: str | torch.device = "auto", backbone: torch.nn.Module | None = None,
                 flow_cache: Path | None = None, batch_size: int = 64):
        if backbone is None:
            from lrcn.models.backbones import create_backbone

            backbone = create_backbone(spec.backbone, spec.pretrained, spec.grid, frozen=True)
        else:
            spec = replace(spec, weights=weights_key(backbone))
        self.spec, self.flow_cache, self.batch_size = spec, flow_cache, batch_size
        self.device = resolve(device)
        self.backbone = backbone.eval().to(self.device, memory_format=torch.channels_last)

    @property
    def feature_dim(self) -> int:
        return self.backbone.feature_dim

    def embed(self, frames: torch.Tensor) -> torch.Tensor:
        """(..., 3, S, S) uint8 -> (..., D) float16 on the CPU."""
        return embed(self.backbone, frames, self.spec.precision, self.batch_size).cpu()

    def views(self, x: Input, name: str | None = None) -> torch.Tensor:
        """Any input (:mod:`lrcn.features.inputs`) -> the crops this CNN reads, (T, V, 3, S, S) uint8."""
        return frame_views(x, self.spec, self.flow_cache, name)

    def __call__(self, x: Input, name: str | None = None) -> torch.Tensor:
        """Any input -> (T, V, D) float16 on the CPU."""
        return self.embed(self.views(x, name))
