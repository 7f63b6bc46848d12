"""EfficientNet-Lite0's convolutional trunk (Tan & Le, ICML 2019; the Lite variants of tensorflow/tpu).

Lite0 is EfficientNet-B0 made friendly to integer/mobile hardware: the same stages, without
squeeze-excite, with ReLU6 instead of swish, and with the stem (32 ch) and head (1280 ch) fixed.

    stem       3x3/2 conv, 32 ch
    stage 1    depthwise-separable block: 3x3 depthwise, 1x1 project to 16 ch
    stages 2-7 inverted residual blocks (MBConv): 1x1 expand x6, kxk depthwise, 1x1 linear project,
               plus the input when stride is 1 and the channels match (see STAGES)
    head       1x1 conv, 1280 ch

Every conv has no bias and is followed by BatchNorm (eps 1e-3, TensorFlow's) and, except for the
linear projections, ReLU6. Padding is TensorFlow's "SAME", as in timm's ``tf_`` models: odd kernels
at stride 1 pad symmetrically; stride-2 convs pad (from the input size) so that out = ceil(in / 2),
the odd pixel going to the bottom/right. So this computes timm's
``create_model("tf_efficientnet_lite0").forward_features`` op for op, and loads the weights
converted from TensorFlow's checkpoint (lukemelas/EfficientNet-PyTorch naming: :func:`from_lukemelas`).
"""
from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

# (expand ratio, kernel, stride of the first block, out channels, repeats): EfficientNet-B0's stages
STAGES = [(1, 3, 1, 16, 1), (6, 3, 2, 24, 2), (6, 5, 2, 40, 2), (6, 3, 2, 80, 3), (6, 5, 1, 112, 3),
          (6, 5, 2, 192, 4), (6, 3, 1, 320, 1)]  # fmt: skip


class ConvBN(nn.Module):
    """Conv (TF "SAME" padding, no bias) -> BatchNorm -> ReLU6 (unless ``relu=False``)."""

    def __init__(self, cin: int, cout: int, kernel: int = 1, stride: int = 1, groups: int = 1, relu: bool = True):
        super().__init__()
        self.kernel, self.stride, self.relu = kernel, stride, relu
        padding = (kernel - 1) // 2 if stride == 1 else 0  # stride 2: padded in forward, from the input size
        self.conv = nn.Conv2d(cin, cout, kernel, stride, padding, groups=groups, bias=False)
        self.bn = nn.BatchNorm2d(cout, eps=1e-3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.stride > 1:
            h, w = x.shape[-2:]
            ph, pw = (max((math.ceil(n / self.stride) - 1) * self.stride + self.kernel - n, 0) for n in (h, w))
            x = F.pad(x, (pw // 2, pw - pw // 2, ph // 2, ph - ph // 2))  # (left, right, top, bottom)
        x = self.bn(self.conv(x))
        return F.relu6(x, inplace=True) if self.relu else x


class MBConv(nn.Module):
    """Inverted residual: 1x1 expand -> kxk depthwise (stride) -> 1x1 linear project (+ input).

    With expand ratio 1 there is no expansion: the depthwise-separable block of stage 1.
    """

    def __init__(self, cin: int, cout: int, expand: int, kernel: int, stride: int):
        super().__init__()
        mid = cin * expand
        self.expand = ConvBN(cin, mid) if expand != 1 else nn.Identity()
        self.depthwise = ConvBN(mid, mid, kernel, stride, groups=mid)
        self.project = ConvBN(mid, cout, relu=False)
        self.residual = stride == 1 and cin == cout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.project(self.depthwise(self.expand(x)))  # (B, cin, H, W) -> (B, cout, H/stride, W/stride)
        return y + x if self.residual else y


class EfficientNetLite0(nn.Module):
    """(B, 3, H, W) normalised to [-1, 1] -> (B, 1280, H/32, W/32) feature map (7x7 at 224 px)."""

    channels = 1280

    def __init__(self):
        super().__init__()
        self.stem = ConvBN(3, 32, 3, stride=2)
        blocks, cin = [], 32
        for expand, kernel, stride, cout, repeats in STAGES:
            for i in range(repeats):
                blocks.append(MBConv(cin, cout, expand, kernel, stride if i == 0 else 1))
                cin = cout
        self.blocks = nn.Sequential(*blocks)  # 16 blocks, flat as in the lukemelas checkpoint
        self.head = ConvBN(cin, self.channels)
        for m in self.modules():  # He (fan-in) init: a seeded trunk's features keep their scale through eval-mode
            if isinstance(m, nn.Conv2d):  # BatchNorm (PyTorch's default init shrank them to ~5e-8, 0 in float16)
                nn.init.kaiming_normal_(m.weight, mode="fan_in", nonlinearity="relu")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)  # (B, 32, H/2, W/2)
        x = self.blocks(x)  # stages: 16 ch at H/2, 24 at H/4, 40 at H/8, 80 and 112 at H/16, 192 and 320 at H/32
        return self.head(x)  # (B, 1280, H/32, W/32)


_TOP = {"_conv_stem": "stem.conv", "_bn0": "stem.bn", "_conv_head": "head.conv", "_bn1": "head.bn"}
_BLOCK = {"_expand_conv": "expand.conv", "_bn0": "expand.bn", "_depthwise_conv": "depthwise.conv",
          "_bn1": "depthwise.bn", "_project_conv": "project.conv", "_bn2": "project.bn"}  # fmt: skip


def from_lukemelas(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Rename a lukemelas-style state dict to ours, e.g. ``_blocks.3._bn1.weight`` -> ``blocks.3.depthwise.bn.weight``.

    The classifier (``_fc``) is dropped. Names it does not know pass through unchanged, so that a strict
    ``load_state_dict`` reports them (with any missing or misshapen tensor).
    """
    out = {}
    for name, tensor in state.items():
        module, _, param = name.rpartition(".")
        if module == "_fc":
            continue
        parent, _, layer = module.rpartition(".")
        if parent.startswith("_blocks.") and layer in _BLOCK:
            module = f"blocks.{parent.removeprefix('_blocks.')}.{_BLOCK[layer]}"
        module = _TOP.get(module, module)
        out[f"{module}.{param}"] = tensor
    return out
