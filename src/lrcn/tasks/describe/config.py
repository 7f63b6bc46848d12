"""The config of a describe run: data, features, the SR stage, the generator and its training."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from lrcn.config import arg, section
from lrcn.features.spec import FeatureConfig
from lrcn.models.describer import DescriberConfig
from lrcn.models.sr import SRConfig
from lrcn.tasks import TrainConfig


@dataclass
class DescribeDataConfig:
    root: Path = arg(Path("data/kitchen"), "A TACoS-layout folder (videos/, alignments-text/, [splits/]), e.g. from "
                     "`lrcn synth kitchen`.", flag="data")
    split_seed: int = arg(0, "Without splits/: the seed of the 80/10/10 split of the videos.", low=0)
    frames: int = arg(16, "Frames sampled evenly from each interval.", low=1)
    min_count: int = arg(2, "Vocabulary: training words seen at least this often.", low=1)
    max_len: int = arg(20, "Words per training sentence.", low=1)
    batch_size: int = arg(64, "Intervals (SR stage) or sentences (generator) per step.", low=1)
    workers: int | None = arg(None, "Video-decoding processes for the feature cache; default: sized from the cores "
                              "and the device (lrcn doctor).", low=0, resumable=True)


@dataclass
class SRStageConfig(SRConfig):
    pca: int = arg(256, "Whiten the frame features onto this many principal components.", low=1)
    epochs: int = arg(30, "Epochs of the SR classifiers + CRF.", low=1)
    lr: float = arg(2e-3, "Adam learning rate of the SR stage.", low=0)
    weight_decay: float = arg(1e-4, "Adam's L2 penalty of the SR stage.", low=0)
    folds: int = arg(2, "Cross-fitting folds for the CRF outputs the generators train on (1: none).", low=1)
    from_run: Path | None = arg(None, "Reuse the SR stage of this describe run instead of training one.", flag="from")


@dataclass
class DescribeConfig:
    data: DescribeDataConfig = section(DescribeDataConfig)
    features: FeatureConfig = section(FeatureConfig, image_size=128)
    sr: SRStageConfig = section(SRStageConfig, prefix="sr-")
    model: DescriberConfig = section(DescriberConfig)
    train: TrainConfig = section(TrainConfig, epochs=20, lr=2e-3, weight_decay=0.0, grad_clip=0.0)
