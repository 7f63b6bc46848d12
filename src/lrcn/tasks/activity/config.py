"""The config of an activity run: data, features, model and training, each field written once."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from lrcn.config import arg, section
from lrcn.data.flow import METHODS
from lrcn.features.spec import FeatureConfig
from lrcn.models.activity import ActivityModelConfig
from lrcn.tasks import TrainConfig

MODALITIES = ("rgb", "flow")


@dataclass
class ActivityDataConfig:
    root: Path = arg(Path("data/actions"), "UCF101-layout root (classInd.txt) or a folder per class of videos.",
                     flag="data")
    split: int = arg(1, "UCF101 split.", choices=(1, 2, 3))
    test_fraction: float = arg(0.3, "A folder per class: share of each class's videos held out for test.",
                                low=0, high=0.9)
    val_fraction: float = arg(0.1, "Share of the training groups held out to pick the best checkpoint.", low=0,
                               high=0.9)
    split_seed: int = arg(0, "Seed of the held-out shares.", low=0)
    modality: str = arg("rgb", "Input stream: RGB frames or optical flow images.", choices=MODALITIES)
    flow_method: str = arg("dis", "Optical flow estimator of the flow stream.", choices=METHODS)
    flip: bool = arg(False, "Mirror the training frames too (twice the feature extraction; see --mirror-pair).")
    clip_len: int = arg(16, "Frames per clip (the paper: 16).", low=1)
    stride: int = arg(8, "Test clips start every this many frames (the paper: 8).", low=1)
    clips_per_video: int = arg(4, "Random training clips drawn from each video per epoch.", low=1)
    batch_size: int = arg(24, "Clips per step (the authors: 24 clips x 16 frames).", low=1)
    workers: int | None = arg(None, "Decoding processes (the feature cache; with --finetune, the training clips); "
                              "default: sized from the cores and the device (lrcn doctor).", low=0, resumable=True)


@dataclass
class ActivityTrainConfig(TrainConfig):
    reverse_pairs: list[str] = arg(
        factory=list, flag="reverse-pair",
        help="A:B classes that are each other's time reversal (repeatable): a reversed clip of A is trained as B.")
    mirror_pairs: list[str] = arg(
        factory=list, flag="mirror-pair",
        help="A:B classes that are each other's left-right mirror (repeatable): a mirrored view (--flip, --crops 10) "
             "of A counts as B.")


@dataclass
class ActivityConfig:
    data: ActivityDataConfig = section(ActivityDataConfig)
    features: FeatureConfig = section(FeatureConfig)
    model: ActivityModelConfig = section(ActivityModelConfig)
    train: ActivityTrainConfig = section(ActivityTrainConfig)

    @property
    def source(self) -> str:
        """The frame source the CNN reads (lrcn.features.inputs)."""
        return "rgb" if self.data.modality == "rgb" else f"flow-{self.data.flow_method}"
