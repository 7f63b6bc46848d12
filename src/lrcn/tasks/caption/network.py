"""The network of a caption run, built from its config: what training optimises and prediction loads."""
from __future__ import annotations

from lrcn.models.captioner import ImageCaptioner
from lrcn.tasks.caption.config import CaptionConfig


def build_model(cfg: CaptionConfig, vocab_size: int, feature_dim: int, pretrained: bool = True) -> ImageCaptioner:
    """The image projection and the captioner, and the CNN in it only when fine-tuned (``pretrained``: start it from
    its ImageNet weights; loading a trained run overwrites them)."""
    backbone = cfg.features.cnn(pretrained) if cfg.train.finetune else None
    return ImageCaptioner(feature_dim, vocab_size, cfg.model, backbone)
