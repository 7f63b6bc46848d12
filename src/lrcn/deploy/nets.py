"""What the exported graphs compute: a trained run's own modules, wrapped so that their inputs and outputs are plain
arrays a runtime without Python can feed (uint8 pixels, the LSTM state as tensors in and out).

Each wrapper adds nothing a runner must know beyond its shapes: the CNN takes the pixels as they come out of a
decoder (N, S, S, 3) and rounds its features to float16, as lrcn's feature cache and every predictor do; the steps
end in the softmax (activity) or log-softmax (captioning) that lrcn's own prediction applies.
"""
from __future__ import annotations

import torch
from torch import nn


class FrameCNN(nn.Module):
    """(N, S, S, 3) uint8 RGB crops -> (N, D) features, normalisation inside (the backbone's), rounded to float16 as
    lrcn computes them; then ``project`` (a caption run's image input, once per image) when given."""

    def __init__(self, backbone: nn.Module, project: nn.Module | None = None):
        super().__init__()
        self.backbone, self.project = backbone, project

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        feats = self.backbone(frames.permute(0, 3, 1, 2)).half().float()  # (N, D), as the feature cache holds them
        return feats if self.project is None else self.project(feats)  # (N, D) or (N, image_dim)


class ActivityStep(nn.Module):
    """features (N, T, D) and the LSTM state h, c (N, H) -> per-step class probabilities (N, T, C) and the new h, c.

    One graph for a whole clip (T = 16, from the zero state) and for a live stream (T = 1, the state carried). The
    single-frame baseline has no state: features -> probabilities only."""

    def __init__(self, head: nn.Module):
        super().__init__()
        self.head = head

    def forward(self, feats: torch.Tensor, *state: torch.Tensor):
        if not state:
            return self.head(feats)[0].softmax(-1)  # (N, T, C)
        logits, (h, c) = self.head(feats, (state[0][None], state[1][None]))  # nn.LSTM's state: (layers, N, H)
        return logits.softmax(-1), h[0], c[0]


class CaptionStep(nn.Module):
    """previous words (N,) int64, the image input (N, image_dim) and the state h0, c0, h1, c1, ... (N, H) -> the next
    word's log-probabilities (N, V) and the new state: :meth:`lrcn.models.captioner.Captioner.step`, as
    :mod:`lrcn.models.decoding` runs it, so greedy and beam search can run outside the graph."""

    def __init__(self, captioner: nn.Module):
        super().__init__()
        self.captioner = captioner

    def forward(self, words: torch.Tensor, cond: torch.Tensor, *state: torch.Tensor):
        logits, new = self.captioner.step(words, state, cond)
        return (logits.float().log_softmax(-1), *new)


class DescribeEncoder(nn.Module):
    """An interval's frame features (N, n, D) -> the decoder's static input (N, E), the CRF's MAP tuple (N, K) int64
    and every slot's marginals, concatenated in slot order (N, sum n_k): :meth:`lrcn.models.describer.DescribeNet.infer`
    (the whitening, the SR classifiers, Viterbi and forward-backward over the chain CRF)."""

    def __init__(self, net: nn.Module):
        super().__init__()
        self.net = net

    def forward(self, feats: torch.Tensor):
        return self.net.infer(feats)
