"""Image-sentence retrieval measures: R@K and median rank, both directions (research.md §3).

``scores`` is (I, C): how well caption c matches image i (higher is better); ``caption_image`` (C,)
is the index of each caption's own image. Ranks are 1-indexed, and a tie counts against the query
(a model that scores everything the same ranks last, not first).
"""
from __future__ import annotations

import math

import torch


def normalise_logp(logp: torch.Tensor) -> torch.Tensor:
    """The authors' score: log p(c | i) - log mean_i' p(c | i'), i.e. each caption's likelihood divided by
    its average likelihood over all images (``retrieval_experiment.py``). (I, C) -> (I, C)."""
    return logp - torch.logsumexp(logp, dim=0, keepdim=True) + math.log(logp.shape[0])


def annotation_ranks(scores: torch.Tensor, caption_image: torch.Tensor) -> torch.Tensor:
    """Image -> captions: per image, the rank of its best-placed own caption among all captions. (I,)"""
    own = caption_image[None, :] == torch.arange(scores.shape[0], device=scores.device)[:, None]  # (I, C)
    best_own = scores.masked_fill(~own, float("-inf")).max(1, keepdim=True).values  # (I, 1)
    return 1 + ((scores >= best_own) & ~own).sum(1)


def search_ranks(scores: torch.Tensor, caption_image: torch.Tensor) -> torch.Tensor:
    """Caption -> images: per caption, the rank of its own image among all images. (C,)"""
    own_score = scores.gather(0, caption_image[None, :])  # (1, C)
    return (scores >= own_score).sum(0)


def recall_at_k(ranks: torch.Tensor, k: int) -> float:
    """Percentage of queries whose answer is ranked in the top k."""
    return 100.0 * (ranks <= k).float().mean().item()


def median_rank(ranks: torch.Tensor) -> float:
    """Median rank (of an even count, the mean of the middle two, as numpy does)."""
    return float(ranks.double().quantile(0.5).item())


def retrieval_metrics(scores: torch.Tensor, caption_image: torch.Tensor) -> dict[str, dict[str, float]]:
    """{"annotation": {r1, r5, r10, medr}, "search": {...}} from (I, C) scores."""
    out = {}
    for name, ranks in (("annotation", annotation_ranks(scores, caption_image)), ("search", search_ranks(scores, caption_image))):
        out[name] = {f"r{k}": recall_at_k(ranks, k) for k in (1, 5, 10)} | {"medr": median_rank(ranks)}
    return out
