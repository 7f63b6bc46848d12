"""A frozen whitening PCA of frame features, fitted once on training frames (activity and description).

The cached CNN features are large (Lite0 with a 3x3 grid: D = 11520 per frame). Projecting them onto
their top principal components, each scaled to unit variance, keeps the spatial layout the grid
preserved (which a global average would lose) and makes the heads train in seconds on a CPU. On the
raw features the activity LSTM memorised each training video's look and never found the direction of
time; on whitened ones it learns it.
"""
from __future__ import annotations

import torch
from torch import nn


class Whiten(nn.Module):
    """A fixed linear map fitted on training frames: ``(x - mean) @ proj``, (..., D) -> (..., k).

    Buffers, not parameters: saved with the model, never trained. Built empty (so a checkpoint can
    be loaded into it), then :meth:`fit`.
    """

    def __init__(self, feature_dim: int, k: int):
        super().__init__()
        self.register_buffer("mean", torch.zeros(feature_dim))
        self.register_buffer("proj", torch.zeros(feature_dim, k))

    @torch.no_grad()
    def fit(self, frames: torch.Tensor, standardize: bool = True, seed: int = 0) -> "Whiten":
        """Fit on frame features (N, D): centre (and divide each feature by its std if ``standardize``), project
        onto the top-k principal components, scale each to unit variance. Seeded randomised PCA; with fewer
        samples than k, the extra components stay zero.
        """
        frames = frames.float()
        mean = frames.mean(0)
        std = frames.std(0) + 1e-3 if standardize else torch.ones_like(mean)
        z = (frames - mean) / std
        q = min(self.proj.shape[1], *z.shape)
        with torch.random.fork_rng():
            torch.manual_seed(seed)
            _, _, v = torch.pca_lowrank(z, q=q, center=False, niter=4)  # (D, q)
        scale = (z @ v).std(0) + 1e-6  # (q,)
        self.mean.copy_(mean)
        self.proj.zero_()
        self.proj[:, :q] = v / std[:, None] / scale[None]
        return self

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x.float() - self.mean) @ self.proj
