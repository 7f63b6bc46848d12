"""The config of a caption run: data, features, model and training, each field written once."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from lrcn.config import arg, section
from lrcn.features.spec import FeatureConfig
from lrcn.models.captioner import CaptionModelConfig
from lrcn.tasks import TrainConfig


@dataclass
class CaptionDataConfig:
    root: Path = arg(Path("data/scenes"), "Data folder: a Karpathy split file (dataset_*.json) wins over COCO "
                     "captions_*.json files.", flag="data")
    images: Path | None = arg(None, "Folder the image paths are relative to (default: --data).")
    min_count: int = arg(5, "Vocabulary: training words seen at least this often (the paper: 5).", low=1)
    max_len: int = arg(20, "Words per training caption (the paper: 20).", low=1)
    images_per_batch: int = arg(20, "Images per batch, each with all its captions (~100 captions, the paper's batch).",
                                low=1)
    workers: int | None = arg(None, "Image-decoding processes (the feature cache; with --finetune, the batches); "
                              "default: sized from the cores and the device (lrcn doctor).", low=0, resumable=True)


@dataclass
class CaptionConfig:
    data: CaptionDataConfig = section(CaptionDataConfig)
    features: FeatureConfig = section(FeatureConfig)
    model: CaptionModelConfig = section(CaptionModelConfig)
    # Adam(W) at 2e-3 (the authors: SGD 0.01 for 110k iterations, too slow for a CPU); gradient norm clipped at 10
    # (the authors' clip_gradients).
    train: TrainConfig = section(TrainConfig, epochs=10, lr=2e-3, weight_decay=0.0, grad_clip=10.0)
