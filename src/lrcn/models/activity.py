"""Activity recognition heads on per-frame CNN features: LRCN and the single-frame baseline.

Both read features (B, T, D) (the backbone's pooled grid, our pool5) and give logits at every
time step (B, T, C); neither applies a softmax. The paper's video prediction is
:func:`video_scores`: softmax at each step, then the mean over steps, crops and clips.

The paper's fc6 comes pretrained with its CNN; ours is learned from a few hundred videos on top of
a frozen grid of features (D = 11520 for EfficientNet-Lite0), whitened first
(:class:`lrcn.models.pca.Whiten`, fitted on the training frames).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from lrcn.models.pca import Whiten

ARCHS = ("lrcn", "single-frame")


@dataclass
class ActivityModelConfig:
    arch: str = "lrcn"  # "lrcn" | "single-frame"
    pca: int = 256  # whiten the features onto this many principal components before fc6 (0: off)
    fc6: int = 512  # width of the learned projection of the feature grid (the paper's fc6 is 4096)
    fc6_dropout: float = 0.5  # the paper uses 0.9 on fc6 (with 4096 units)
    hidden: int = 256  # LSTM units: 256 in the paper for RGB, 1024 was better for flow
    dropout: float = 0.5  # on the LSTM output, before the classifier


class FC6(nn.Module):
    """(Whitening +) linear projection of the frame feature + ReLU + dropout: (B, T, D) -> (B, T, fc6)."""

    def __init__(self, feature_dim: int, cfg: ActivityModelConfig):
        super().__init__()
        self.whiten = Whiten(feature_dim, cfg.pca) if cfg.pca else nn.Identity()
        self.proj = nn.Linear(cfg.pca or feature_dim, cfg.fc6)
        self.drop = nn.Dropout(cfg.fc6_dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.drop(torch.relu(self.proj(self.whiten(x))))


class LRCN(nn.Module):
    """fc6 -> LSTM -> dropout -> classifier, a prediction at every step.

    ``forward(x, state)`` returns ``(logits, state)``: pass the state back in to continue a
    sequence (online recognition over a stream, frame by frame).
    """

    def __init__(self, feature_dim: int, num_classes: int, cfg: ActivityModelConfig):
        super().__init__()
        self.fc6 = FC6(feature_dim, cfg)
        self.lstm = nn.LSTM(cfg.fc6, cfg.hidden, batch_first=True)
        self.drop = nn.Dropout(cfg.dropout)
        self.classifier = nn.Linear(cfg.hidden, num_classes)

    def forward(self, x: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor] | None = None):
        h, state = self.lstm(self.fc6(x), state)  # (B, T, hidden)
        return self.classifier(self.drop(h)), state  # (B, T, C)


class SingleFrame(nn.Module):
    """The paper's baseline: fc6 -> classifier on each frame alone. Same interface as :class:`LRCN` (state unused)."""

    def __init__(self, feature_dim: int, num_classes: int, cfg: ActivityModelConfig):
        super().__init__()
        self.fc6 = FC6(feature_dim, cfg)
        self.classifier = nn.Linear(cfg.fc6, num_classes)

    def forward(self, x: torch.Tensor, state=None):
        return self.classifier(self.fc6(x)), None  # (B, T, C)


class EndToEnd(nn.Module):
    """A backbone and a head trained together (``--finetune``): frames (B, T, 3, S, S) -> logits (B, T, C)."""

    def __init__(self, backbone: nn.Module, head: nn.Module):
        super().__init__()
        self.backbone, self.head = backbone, head

    def forward(self, frames: torch.Tensor, state=None):
        b, t = frames.shape[:2]
        feats = self.backbone(frames.flatten(0, 1)).view(b, t, -1)  # (B, T, D)
        return self.head(feats, state)


def create_head(feature_dim: int, num_classes: int, cfg: ActivityModelConfig) -> nn.Module:
    return {"lrcn": LRCN, "single-frame": SingleFrame}[cfg.arch](feature_dim, num_classes, cfg)


def per_step_loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """The paper's training loss: cross-entropy at every step against the clip's label. (B, T, C), (B,) -> ()."""
    return F.cross_entropy(logits.float().flatten(0, 1), labels.repeat_interleave(logits.shape[1]))


def video_scores(per_step_logits: torch.Tensor) -> torch.Tensor:
    """The paper's video prediction: softmax at every step, averaged over steps, crops and clips.

    ``per_step_logits`` (..., T, C), e.g. (clips, crops, T, C) -> class probabilities (C,).
    All leading groups have equal size, so the mean of means equals one flat mean.
    """
    return per_step_logits.float().softmax(-1).flatten(0, -2).mean(0)
