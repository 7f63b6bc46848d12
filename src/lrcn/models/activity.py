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

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from lrcn.config import arg
from lrcn.data.transforms import mirrored
from lrcn.data.video import clip_indices, sample_clip_starts
from lrcn.models.pca import Whiten

ARCHS = ("lrcn", "single-frame")


@dataclass
class ActivityModelConfig:
    arch: str = arg("lrcn", "LRCN, or the paper's single-frame baseline.", choices=ARCHS)
    pca: int = arg(256, "Whiten the CNN features onto this many principal components before fc6 (0: off).", low=0)
    fc6: int = arg(512, "Width of the learned projection of the CNN feature grid (the paper's fc6: 4096).", low=1)
    fc6_dropout: float = arg(0.5, "Dropout on fc6 (the paper: 0.9, with 4096 units).", low=0, high=1)
    hidden: int = arg(256, "LSTM units (the paper: 256 for RGB; 1024 was better for flow).", low=1)
    dropout: float = arg(0.5, "Dropout on the LSTM output, before the classifier.", low=0, high=1)


class FC6(nn.Module):
    """(Whitening +) linear projection of the frame feature + ReLU + dropout: (B, T, D) -> (B, T, fc6); features
    already whitened (B, T, k) with ``whitened`` (training on a frozen CNN's cache whitens each frame once)."""

    def __init__(self, feature_dim: int, cfg: ActivityModelConfig):
        super().__init__()
        self.whiten = Whiten(feature_dim, cfg.pca) if cfg.pca else nn.Identity()
        self.proj = nn.Linear(cfg.pca or feature_dim, cfg.fc6)
        self.drop = nn.Dropout(cfg.fc6_dropout)

    def forward(self, x: torch.Tensor, whitened: bool = False) -> torch.Tensor:
        return self.drop(torch.relu(self.proj(x if whitened else self.whiten(x))))


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

    def forward(self, x: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor] | None = None, whitened: bool = False):
        h, state = self.lstm(self.fc6(x, whitened), state)  # (B, T, hidden)
        return self.classifier(self.drop(h)), state  # (B, T, C)


class SingleFrame(nn.Module):
    """The paper's baseline: fc6 -> classifier on each frame alone. Same interface as :class:`LRCN` (state unused)."""

    def __init__(self, feature_dim: int, num_classes: int, cfg: ActivityModelConfig):
        super().__init__()
        self.fc6 = FC6(feature_dim, cfg)
        self.classifier = nn.Linear(cfg.fc6, num_classes)

    def forward(self, x: torch.Tensor, state=None, whitened: bool = False):
        return self.classifier(self.fc6(x, whitened)), None  # (B, T, C)


class ActivityNet(nn.Module):
    """A trained activity model: the head on CNN features and, when fine-tuned (``--finetune``), the CNN trained
    with it (None: the frozen registry CNN computes the features, outside this module)."""

    def __init__(self, feature_dim: int, num_classes: int, cfg: ActivityModelConfig, backbone: nn.Module | None = None):
        super().__init__()
        self.head = create_head(feature_dim, num_classes, cfg)
        self.backbone = backbone

    def forward(self, x: torch.Tensor, state=None, whitened: bool = False):
        """Features (B, T, D) (or (B, T, k) ``whitened``), or frames (B, T, 3, S, S) through the CNN first ->
        (logits (B, T, C), state)."""
        if x.dim() == 5:
            b, t = x.shape[:2]
            x = self.backbone(x.flatten(0, 1)).view(b, t, -1)  # (B, T, D)
        return self.head(x, state, whitened)


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


def clips_of(feats: torch.Tensor, clip_len: int, stride: int) -> torch.Tensor:
    """(T, V, D) frame features -> (N, V, L, D) test clips (a short video is looped into one clip)."""
    t = feats.shape[0]
    idx = torch.from_numpy(np.stack([clip_indices(t, s, clip_len) for s in sample_clip_starts(t, clip_len, stride)]))
    return feats[idx].transpose(1, 2)  # (N, L, V, D) -> (N, V, L, D)


def unmirror(logits: torch.Tensor, views: str, mirror: list[int]) -> torch.Tensor:
    """(N, V, L, C) logits of the named views -> the same, the mirrored views' classes swapped back by ``mirror``."""
    flipped = torch.tensor(mirrored(views))
    out = logits.clone()
    out[:, flipped] = logits[:, flipped][..., mirror]
    return out


@torch.inference_mode()
def predict_clips(head: nn.Module, clips: torch.Tensor, views: str = "center",
                  mirror: list[int] | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """(N, V, L, D) clips of the named views -> (per-clip probabilities (N, C), the video's probabilities (C,)).

    With ``mirror`` (a class permutation swapping each mirror pair), a mirrored view's scores are swapped back first.
    """
    n, v = clips.shape[:2]
    logits = torch.cat([head(c.flatten(0, 1).float())[0] for c in clips.split(max(1, 64 // v))])  # (N*V, L, C)
    logits = logits.view(n, v, *logits.shape[1:])  # (N, V, L, C)
    if mirror is not None:
        logits = unmirror(logits, views, mirror)
    return logits.float().softmax(-1).mean((1, 2)), video_scores(logits)


@torch.inference_mode()
def running_scores(head: nn.Module, feats: torch.Tensor) -> torch.Tensor:
    """The answer forming as the LSTM reads the video: (T, D) frame features -> (T, C) softmax at every frame,
    the state carried across the whole video (the single-frame baseline has none: each frame alone)."""
    logits, _ = head(feats[None].float())  # (1, T, C)
    return logits[0].float().softmax(-1)
