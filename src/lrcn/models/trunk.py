"""A CNN cut before its classifier (:class:`Trunk`) and the per-frame feature it gives the LSTM (:class:`Backbone`).

The last feature map is average-pooled to a coarse ``grid`` (3x3 by default) rather than to one vector: global
pooling throws away where things are, and an LSTM cannot then tell "moves left" from "moves right". This grid plays
the part of the paper's pool5, and the learned projection in the heads plays the part of fc6.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn


@dataclass(frozen=True)
class Trunk:
    """A CNN cut before its classifier: (B, 3, S, S) normalised images -> (B, C, h, w)."""

    net: nn.Module
    channels: int
    mean: tuple[float, float, float]
    std: tuple[float, float, float]


class Backbone(nn.Module):
    """Normalise, run the trunk, pool its map to ``grid x grid``, flatten: (B, 3, S, S) -> (B, C*grid*grid)."""

    def __init__(self, trunk: Trunk, grid: int = 3):
        super().__init__()
        self.net = trunk.net
        self.grid = grid
        self.feature_dim = trunk.channels * grid * grid
        self.register_buffer("mean", torch.tensor(trunk.mean).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(trunk.std).view(1, 3, 1, 1), persistent=False)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        x = images.float() / 255.0 if images.dtype == torch.uint8 else images  # (B, 3, S, S) in [0, 1]
        x = (x - self.mean) / self.std
        fmap = self.net(x)  # (B, C, h, w)
        return nn.functional.adaptive_avg_pool2d(fmap, self.grid).flatten(1)  # (B, C*grid*grid)
