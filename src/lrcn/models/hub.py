"""Backbones of the ecosystem by name: ``timm:NAME`` (any timm model) and ``torchvision:NAME``.

A timm model's trunk is its ``forward_features`` (the last feature map; a ViT's patch tokens laid back on their
grid, its class and register tokens dropped); a torchvision model is cut before its pooling and classifier (``.features``
of VGG, DenseNet, MobileNet, EfficientNet, ConvNeXt; ResNet/RegNet up to ``avgpool``; a ViT's encoder output on its
grid). Mean, std and input size come from the model's own pretrained config (timm's ``pretrained_cfg``,
torchvision's weights transforms). The libraries are imported only when such a backbone is built: timm through
:func:`lrcn.extras.module` (the extra ``timm``). The weights are loaded by :mod:`lrcn.models.backbones`.
"""
from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from lrcn.errors import LrcnError
from lrcn.extras import module
from lrcn.models.trunk import Trunk
from lrcn.models.weights import hub_file, load_into, url_file

FAMILIES = ("timm", "torchvision")
IMAGENET = ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))


@dataclass(frozen=True)
class Preprocess:
    """What the model expects of its input: the mean and std it was trained with, its native input size."""

    mean: tuple[float, ...]
    std: tuple[float, ...]
    size: int

    def __str__(self) -> str:  # what the feature spec records
        return (f"mean {','.join(f'{v:g}' for v in self.mean)} std {','.join(f'{v:g}' for v in self.std)} "
                f"size {self.size}")


def is_hub(name: str) -> bool:
    return name.partition(":")[0] in FAMILIES and ":" in name


def preprocess(name: str) -> Preprocess:
    """``timm:NAME`` or ``torchvision:NAME``'s preprocessing, from its own pretrained config."""
    family, model = _split(name)
    if family == "timm":
        cfg = _timm_cfg(name)
        return Preprocess(tuple(cfg.mean), tuple(cfg.std), cfg.input_size[-1])
    weights = _tv_weights(name, required=False)
    if weights is None:
        return Preprocess(*IMAGENET, 224)
    t = weights.transforms()
    return Preprocess(tuple(t.mean), tuple(t.std), t.crop_size[0])


def pretrained_file(name: str) -> Path:
    """The file of the model's pretrained weights in its library's cache, fetched once unless offline."""
    family, model = _split(name)
    what = f"--backbone {name}"
    if family == "timm":
        cfg = _timm_cfg(name)
        if cfg.hf_hub_id:
            return hub_file(cfg.hf_hub_id, cfg.hf_hub_filename or "model.safetensors", what)
        if cfg.url:
            return url_file(cfg.url, what)
        raise LrcnError(f"{what}: timm publishes no pretrained weights for it; give --backbone-weights FILE or none")
    return url_file(_tv_weights(name, required=True).url, what)


def hub_trunk(name: str, state: dict[str, torch.Tensor] | None, where: str) -> Trunk:
    """The trunk of ``name`` with ``state`` loaded (read from ``where``), or as initialised when None."""
    family, model = _split(name)
    p = preprocess(name)
    if family == "timm":
        net = _timm_model(name)
        skip = tuple(f"{c}." for c in _as_tuple(_timm_cfg(name).classifier))
        if state is not None:
            load_into(net, state, where, name, skip)
        trunk = TokenGrid(net) if hasattr(net, "num_prefix_tokens") and hasattr(net, "patch_embed") \
            else TimmFeatures(net)
        return Trunk(trunk, net.num_features, p.mean, p.std)
    full = _tv_model(name)
    net, head = _tv_cut(full, name)
    if state is not None:
        load_into(full, state, where, name, (head,))
    side = getattr(full, "image_size", 64)  # a ViT reads its own size only
    with torch.no_grad():
        channels = net.eval()(torch.zeros(1, 3, side, side)).shape[1]  # eval: the probe leaves BatchNorm's statistics
    return Trunk(net, channels, p.mean, p.std)


class TimmFeatures(nn.Module):
    """A timm CNN's last feature map, channels first: (B, 3, S, S) -> (B, C, h, w)."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model
        self.nhwc = getattr(model, "output_fmt", "NCHW") == "NHWC"  # Swin and kin give (B, h, w, C)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        fmap = self.model.forward_features(x)
        return fmap.permute(0, 3, 1, 2) if self.nhwc else fmap  # (B, C, h, w)


class TokenGrid(nn.Module):
    """A timm ViT's patch tokens laid back on their grid: (B, 3, S, S) -> (B, C, S/p, S/p), the class and register
    tokens dropped."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model
        self.prefix = model.num_prefix_tokens
        self.patch = model.patch_embed.patch_size

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        tokens = self.model.forward_features(x)[:, self.prefix:]  # (B, h*w, C)
        h, w = x.shape[-2] // self.patch[0], x.shape[-1] // self.patch[1]
        return tokens.transpose(1, 2).reshape(x.shape[0], -1, h, w)  # (B, C, h, w)


class TorchvisionViTGrid(nn.Module):
    """torchvision's VisionTransformer up to its encoder, patch tokens on their grid: (B, 3, S, S) -> (B, C, h, w)."""

    def __init__(self, vit: nn.Module):
        super().__init__()
        self.vit = vit

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, size = x.shape[0], self.vit.image_size
        if x.shape[-1] != size or x.shape[-2] != size:
            raise LrcnError(f"torchvision's ViTs read {size}-pixel images only: give --image-size {size}, or use timm")
        tokens = self.vit._process_input(x)  # (B, h*w, C)
        tokens = torch.cat([self.vit.class_token.expand(b, -1, -1), tokens], 1)
        tokens = self.vit.encoder(tokens)[:, 1:]  # the class token dropped
        side = size // self.vit.patch_size
        return tokens.transpose(1, 2).reshape(b, -1, side, side)


def _split(name: str) -> tuple[str, str]:
    family, _, model = name.partition(":")
    if family not in FAMILIES or not model:
        raise LrcnError(f"--backbone {name}: not timm:NAME or torchvision:NAME")
    return family, model


def _as_tuple(x) -> tuple:
    return tuple(x) if isinstance(x, (list, tuple)) else (x,) if x else ()


def _timm_cfg(name: str):
    cfg = module("timm").models.get_pretrained_cfg(_split(name)[1])
    if cfg is None:
        raise LrcnError(f"--backbone {name}: timm has no model of that name (timm.list_models() names them)")
    return cfg


def _timm_model(name: str) -> nn.Module:
    timm, model = module("timm"), _split(name)[1]
    try:  # a ViT reads any input size (its position embedding interpolated); other models take no such argument
        return timm.create_model(model, pretrained=False, num_classes=0, dynamic_img_size=True)
    except TypeError:
        return timm.create_model(model, pretrained=False, num_classes=0)
    except RuntimeError as e:
        raise LrcnError(f"--backbone {name}: timm cannot build it ({str(e).splitlines()[0][:160]})") from None


def _tv_models():
    return module("torchvision.models")


def _tv_weights(name: str, required: bool):
    try:
        return _tv_models().get_model_weights(_split(name)[1]).DEFAULT
    except (ValueError, KeyError, AttributeError):
        if required:
            raise LrcnError(f"--backbone {name}: torchvision publishes no pretrained weights for it; give "
                            "--backbone-weights FILE or none") from None
        return None


def _tv_model(name: str) -> nn.Module:
    try:
        return _tv_models().get_model(_split(name)[1], weights=None)
    except ValueError:
        raise LrcnError(f"--backbone {name}: torchvision has no model of that name "
                        "(torchvision.models.list_models() names them)") from None


def _tv_cut(model: nn.Module, name: str) -> tuple[nn.Module, str]:
    """The trunk of a torchvision classifier, cut before its pooling, and the prefix of the classifier it drops."""
    if isinstance(model, _tv_models().VisionTransformer):
        return TorchvisionViTGrid(model), "heads."
    if isinstance(getattr(model, "features", None), nn.Module) and hasattr(model, "classifier"):
        return model.features, "classifier."
    if hasattr(model, "avgpool") and hasattr(model, "fc") and not getattr(model, "aux_logits", False):
        children = list(model.named_children())
        cut = [n for n, _ in children].index("avgpool")
        return nn.Sequential(OrderedDict(children[:cut])), "fc."
    raise LrcnError(f"--backbone {name}: lrcn cannot cut this torchvision model before its pooling (it cuts models "
                    "with .features, with .avgpool and .fc, and ViTs); try timm:NAME")
