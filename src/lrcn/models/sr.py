"""Semantic representation (SR) of a video interval: <activity, tool, object, source, target>.

As in Rohrbach et al. (ICCV'13), which the LRCN paper builds on: visual classifiers give each slot's
scores (the CRF's unaries), and a CRF couples the slots. Ours is a chain in the paper's slot order,
activity - tool - object - source - target, with a learned pairwise table on each edge, so exact
inference is cheap: the MAP tuple by Viterbi and every slot's marginal by forward-backward, both in
log space and batched on torch tensors. Training maximises the CRF's exact log-likelihood, so unaries
and pairwise tables are learned together.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from lrcn.config import arg


class ChainCRF(nn.Module):
    """Linear-chain CRF over K slots with ``sizes[k]`` labels each.

    Unaries are a list of K tensors (B, n_k); ``pairwise[k]`` is (n_k, n_{k+1}). The score of a tuple y is
    sum_k u_k[y_k] + sum_k P_k[y_k, y_{k+1}].
    """

    def __init__(self, sizes: tuple[int, ...]):
        super().__init__()
        self.sizes = tuple(sizes)
        self.pairwise = nn.ParameterList(nn.Parameter(torch.zeros(a, b)) for a, b in zip(sizes, sizes[1:]))

    def score(self, unary: list[torch.Tensor], labels: torch.Tensor) -> torch.Tensor:
        """Unnormalised log-score of the tuples ``labels`` (B, K): (B,)."""
        s = sum(u.gather(1, labels[:, k : k + 1]).squeeze(1) for k, u in enumerate(unary))
        for k, p in enumerate(self.pairwise):
            s = s + p[labels[:, k], labels[:, k + 1]]
        return s

    def _alphas(self, unary: list[torch.Tensor]) -> list[torch.Tensor]:
        alphas = [unary[0]]  # (B, n_0)
        for k, p in enumerate(self.pairwise):
            # (B, n_k, 1) + (n_k, n_{k+1}) -> logsumexp over i -> (B, n_{k+1})
            alphas.append(unary[k + 1] + torch.logsumexp(alphas[-1].unsqueeze(2) + p, dim=1))
        return alphas

    def _betas(self, unary: list[torch.Tensor]) -> list[torch.Tensor]:
        betas = [torch.zeros_like(unary[-1])]
        for k in reversed(range(len(self.pairwise))):
            # (n_k, n_{k+1}) + (B, 1, n_{k+1}) -> logsumexp over j -> (B, n_k)
            betas.insert(0, torch.logsumexp(self.pairwise[k] + (unary[k + 1] + betas[0]).unsqueeze(1), dim=2))
        return betas

    def log_partition(self, unary: list[torch.Tensor]) -> torch.Tensor:
        """log Z: (B,)."""
        return torch.logsumexp(self._alphas(unary)[-1], dim=1)

    def nll(self, unary: list[torch.Tensor], labels: torch.Tensor) -> torch.Tensor:
        """Mean negative log-likelihood of the true tuples (B, K)."""
        return (self.log_partition(unary) - self.score(unary, labels)).mean()

    def marginals(self, unary: list[torch.Tensor]) -> list[torch.Tensor]:
        """p(y_k = i | x) per slot by forward-backward: K tensors (B, n_k), each row sums to 1."""
        # alpha_k + beta_k is the log of the unnormalised marginal; every slot's logsumexp equals log Z, and
        # normalising per slot keeps each row summing to 1 even when the potentials are huge.
        return [torch.softmax(a + b, dim=1) for a, b in zip(self._alphas(unary), self._betas(unary))]

    def map(self, unary: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """Most likely tuple by Viterbi: labels (B, K) and their log-probabilities (B,)."""
        delta, back = unary[0], []
        for k, p in enumerate(self.pairwise):
            best, arg = (delta.unsqueeze(2) + p).max(dim=1)  # (B, n_{k+1}) each
            delta = unary[k + 1] + best
            back.append(arg)
        score, last = delta.max(dim=1)  # (B,)
        path = [last]
        for arg in reversed(back):
            path.insert(0, arg.gather(1, path[0].unsqueeze(1)).squeeze(1))
        return torch.stack(path, dim=1), score - self.log_partition(unary)


class ClipEncoder(nn.Module):
    """LSTM over an interval's frame features: (B, T, D) -> (B, hidden), its last hidden state."""

    def __init__(self, in_dim: int, hidden: int = 256, dropout: float = 0.3):
        super().__init__()
        self.fc6 = nn.Sequential(nn.Linear(in_dim, hidden), nn.ReLU(), nn.Dropout(dropout))
        self.lstm = nn.LSTM(hidden, hidden, batch_first=True)
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _, (h, _) = self.lstm(self.fc6(x))  # h: (1, B, hidden)
        return self.drop(h[-1])


@dataclass
class SRConfig:
    hidden: int = arg(256, "LSTM units of the SR classifiers' clip encoder.", low=1)
    dropout: float = arg(0.3, "Dropout in the SR classifiers' clip encoder.", low=0, high=1)


class SRModel(nn.Module):
    """Per-slot visual classifiers on an interval's frames, coupled by a chain CRF.

    ``forward(x)`` returns the unaries (one logit tensor (B, n_k) per slot); the CRF (``self.crf``) turns
    them into a MAP tuple or marginals.
    """

    def __init__(self, in_dim: int, sizes: tuple[int, ...], cfg: SRConfig = SRConfig()):
        super().__init__()
        self.encoder = ClipEncoder(in_dim, cfg.hidden, cfg.dropout)
        self.heads = nn.ModuleList(nn.Linear(cfg.hidden, n) for n in sizes)
        self.crf = ChainCRF(sizes)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        h = self.encoder(x)  # (B, hidden)
        return [head(h) for head in self.heads]

    @torch.no_grad()
    def outputs(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Frames (B, T, D) -> the CRF's MAP tuple (B, K) and every slot's marginals concatenated (B, sum n_k)."""
        unary = self(x)
        labels, _ = self.crf.map(unary)
        return labels, torch.cat(self.crf.marginals(unary), dim=1)
