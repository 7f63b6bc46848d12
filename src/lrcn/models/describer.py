"""Sentence generators of the paper's video description (Donahue et al. 2015, Sec. 4.3), and ours.

Each is the captioning decoder (:class:`lrcn.models.captioner.Captioner`) with a different static input
``cond``, fed at every step; only what makes ``cond`` differs:

- ``sr-encdec`` (paper's (a)): an LSTM encoder reads the SR tuple's words (the CRF's MAP tuple), one per
  slot; its last hidden state is ``cond``.
- ``crf-max`` (paper's (b)): the CRF's MAP tuple as concatenated one-hot vectors, one block per slot.
- ``crf-prob`` (paper's (c)): the CRF's marginal distribution of every slot, concatenated, so the
  decoder sees how sure the CRF is instead of one hard tuple.
- ``direct`` (beyond the paper): an LSTM encoder over the interval's frame features, trained end to end
  with the decoder; no SR.

Inputs ``x`` by variant: MAP labels (B, K) int64 for ``sr-encdec`` and ``crf-max``; marginals
(B, sum n_k) for ``crf-prob``; frame features (B, T, D) for ``direct``.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from lrcn.config import arg
from lrcn.models.captioner import VARIANTS as CAPTIONERS
from lrcn.models.captioner import Captioner
from lrcn.models.pca import Whiten
from lrcn.models.sr import ClipEncoder, SRConfig, SRModel

VARIANTS = ("sr-encdec", "crf-max", "crf-prob", "direct")


@dataclass
class DescriberConfig:
    variant: str = arg("crf-prob", "Sentence generator: the paper's (a) sr-encdec, (b) crf-max, (c) crf-prob, or "
                       "ours, direct (frames, no SR).", choices=VARIANTS)
    decoder: str = arg("lrcn2f", "The decoder's LSTM layout (a captioner variant).", choices=tuple(CAPTIONERS))
    embed_dim: int = arg(128, "Word embedding width.", low=1)
    hidden: int = arg(128, "LSTM width of the decoder (and of the sr-encdec and direct encoders).", low=1)
    dropout: float = arg(0.3, "Dropout in the decoder and encoders.", low=0, high=1)


class SREncoder(nn.Module):
    """LSTM over the words of an SR tuple (one token per slot): labels (B, K) -> (B, hidden)."""

    def __init__(self, sizes: tuple[int, ...], embed_dim: int, hidden: int):
        super().__init__()
        self.register_buffer("offsets", torch.tensor([0, *sizes[:-1]]).cumsum(0), persistent=False)
        self.embed = nn.Embedding(sum(sizes), embed_dim)
        self.lstm = nn.LSTM(embed_dim, hidden, batch_first=True)

    def forward(self, labels: torch.Tensor) -> torch.Tensor:
        _, (h, _) = self.lstm(self.embed(labels + self.offsets))  # h: (1, B, hidden)
        return h[-1]


class Describer(nn.Module):
    """Video interval -> next-word logits, through one of :data:`VARIANTS`' conditioning inputs."""

    def __init__(self, vocab_size: int, sizes: tuple[int, ...], frame_dim: int, cfg: DescriberConfig):
        super().__init__()
        if cfg.variant not in VARIANTS:
            raise ValueError(f"unknown describer variant {cfg.variant!r}; choose from {', '.join(VARIANTS)}")
        self.variant, self.sizes = cfg.variant, tuple(sizes)
        if cfg.variant == "sr-encdec":
            self.encoder, cond_dim = SREncoder(self.sizes, cfg.embed_dim, cfg.hidden), cfg.hidden
        elif cfg.variant == "direct":
            self.encoder, cond_dim = ClipEncoder(frame_dim, cfg.hidden, cfg.dropout), cfg.hidden
        else:
            self.encoder, cond_dim = None, sum(self.sizes)
        self.decoder = Captioner(vocab_size, cond_dim, cfg.decoder, cfg.embed_dim, cfg.hidden, cfg.dropout)

    def condition(self, x: torch.Tensor) -> torch.Tensor:
        """The decoder's static input (B, cond_dim)."""
        if self.variant == "crf-max":
            return torch.cat([nn.functional.one_hot(x[:, k], n).float() for k, n in enumerate(self.sizes)], dim=1)
        if self.variant == "crf-prob":
            return x.float()
        return self.encoder(x)

    def forward(self, x: torch.Tensor, words: torch.Tensor) -> torch.Tensor:
        """Teacher forcing: words (B, L) -> logits (B, L, V)."""
        return self.decoder(self.condition(x), words)


def generator_inputs(variant: str, z: torch.Tensor, map_labels: torch.Tensor, marginals: torch.Tensor) -> torch.Tensor:
    """What the variant's decoder is conditioned on: the CRF's MAP labels, its marginals, or the frames ``z``."""
    return {"sr-encdec": map_labels, "crf-max": map_labels, "crf-prob": marginals, "direct": z}[variant]


class DescribeNet(nn.Module):
    """What a describe run holds: the whitening PCA of the frame features, the SR classifiers + chain CRF, and the
    sentence generator. ``infer`` goes from an interval's frame features to the generator's static input."""

    def __init__(self, feature_dim: int, pca_dim: int, sizes: tuple[int, ...], vocab_size: int, sr: SRConfig,
                 cfg: DescriberConfig):
        super().__init__()
        self.pca = Whiten(feature_dim, pca_dim)
        self.describer = Describer(vocab_size, sizes, pca_dim, cfg)  # first: a seeded run initialises it the same
        self.sr = SRModel(pca_dim, sizes, sr)  # ... whether or not the SR stage (trained before) is built beside it

    @torch.no_grad()
    def infer(self, frames: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(N, T, D) frame features -> (the decoder's static input (N, cond_dim), MAP labels, marginals)."""
        z = self.pca(frames)
        map_labels, marginals = self.sr.outputs(z)
        x = generator_inputs(self.describer.variant, z, map_labels, marginals)
        return self.describer.condition(x), map_labels, marginals
