"""The network of an activity run, built from its config: what training optimises and prediction loads."""
from __future__ import annotations

from lrcn.models.activity import ActivityNet
from lrcn.tasks.activity.config import ActivityConfig


def build_model(cfg: ActivityConfig, num_classes: int, feature_dim: int, pretrained: bool = True) -> ActivityNet:
    """The head, and the CNN in it only when fine-tuned. ``pretrained``: start that CNN from its ImageNet weights
    (loading a trained run overwrites them, so prediction skips reading them)."""
    backbone = cfg.features.cnn(pretrained) if cfg.train.finetune else None
    return ActivityNet(feature_dim, num_classes, cfg.model, backbone)
