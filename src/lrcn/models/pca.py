"""A frozen PCA projection of frame features, fitted once on training frames.

The cached CNN features are large (Lite0 with a 3x3 grid: D = 11520 per frame). Projecting them onto
their top principal components (whitened) before the LSTM makes training on a CPU take seconds, and
keeps the spatial layout the grid preserved, which a global average would lose.
"""
from __future__ import annotations

import torch
from torch import nn


class PCA(nn.Module):
    """(..., D) -> (..., k): centred, projected on the top-k components, scaled to unit variance."""

    def __init__(self, in_dim: int, k: int):
        super().__init__()
        self.register_buffer("mean", torch.zeros(in_dim))
        self.register_buffer("components", torch.zeros(in_dim, k))  # columns scaled by 1/std

    @classmethod
    def fit(cls, x: torch.Tensor, k: int, seed: int = 0) -> "PCA":
        """Fit on samples x (N, D) (randomised SVD, seeded)."""
        x = x.float()
        k = min(k, x.shape[0], x.shape[1])
        pca = cls(x.shape[1], k)
        mean = x.mean(0)
        with torch.random.fork_rng():
            torch.manual_seed(seed)
            _, s, v = torch.pca_lowrank(x - mean, q=k, center=False, niter=4)  # v: (D, k)
        std = (s / max(1, x.shape[0] - 1) ** 0.5).clamp_min(1e-6)
        pca.mean.copy_(mean)
        pca.components.copy_(v / std)
        return pca

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x.float() - self.mean) @ self.components
