"""``lrcn eval retrieval``: image annotation and image search by the captioner's likelihood (the paper's Table 4),
beside a feature-similarity baseline with no captioner.

Every (image, caption) pair of a split is scored by log p(caption | image), the pairs stepped together in blocks
of images x captions (:func:`lrcn.models.pair_score.pair_logprob`), never a Python loop over pairs; then normalised
per caption by its average likelihood over all images, as the authors' ``retrieval_experiment.py``.
"""
from __future__ import annotations

import time
from pathlib import Path

import torch

from lrcn.data.text import Vocabulary, encode_batch, tokenize
from lrcn.device import resolve
from lrcn.metrics.retrieval import normalise_logp, retrieval_metrics
from lrcn.device import choose_precision
from lrcn.models.pair_score import pair_logprob
from lrcn.progress import track
from lrcn.tasks.caption.evaluate import load_captioner, split_features, unit, update_metrics


def bag_of_words(vocab: Vocabulary, captions: list[list[str]]) -> torch.Tensor:
    """(C, V) word counts (unknown words count as <unk>)."""
    bows = torch.zeros(len(captions), len(vocab))
    for row, tokens in enumerate(captions):
        for i in vocab.encode(tokens, max_len=len(tokens)):
            bows[row, i] += 1
    return bows


def feature_similarity_scores(test_feats: torch.Tensor, caption_bows: torch.Tensor, train_feats: torch.Tensor,
                              train_bows: torch.Tensor, train_owner: torch.Tensor, k: int = 5,
                              chunk: int = 500) -> torch.Tensor:
    """Retrieval baseline with no captioner: a caption stands for the mean CNN feature of the training images of
    its k most similar training captions (cosine of word counts); a test image scores by cosine to that.

    test_feats (I, D), caption_bows (C, V), train_feats (N, D), train_bows (M, V), train_owner (M,) -> (I, C).
    """
    train_text = unit(train_bows)
    proxies = []
    for bows in caption_bows.split(chunk):
        top = (unit(bows) @ train_text.T).topk(k, dim=1).indices  # (c, k) training captions
        proxies.append(train_feats[train_owner[top]].mean(1))  # (c, D)
    return unit(test_feats) @ unit(torch.cat(proxies)).T


def evaluate_retrieval(run: Path, split: str = "test", limit: int | None = None, precision: str = "auto",
                       cache: Path | None = None, device: str = "auto") -> dict:
    """Rank the split's captions for each image and images for each caption; update RUN/metrics.json.

    Returns {"annotation": {r1, r5, r10, medr}, "search": {...}, "baseline": {"annotation", "search"}, ...}.
    """
    device = resolve(device)
    precision = choose_precision(precision, device, "score").value
    model = load_captioner(run, device)
    vocab = model.vocab
    test, test_feats, train, train_feats = split_features(model, split, cache)
    test, test_feats = test[:limit], test_feats[:limit]
    tokens = [tokenize(c) for it in test for c in it.captions]
    owner = torch.tensor([i for i, it in enumerate(test) for _ in it.captions])
    inputs, targets = encode_batch(vocab, tokens, model.cfg.data.max_len)
    t0 = time.time()
    with torch.inference_mode():
        cond = model.model.encode(test_feats.to(model.device))
    logp = pair_logprob(model.model.captioner, cond, inputs, targets, vocab.pad, precision=precision,
                        progress=lambda blocks: track(blocks, "scoring pairs"))
    seconds = time.time() - t0
    result = retrieval_metrics(normalise_logp(logp), owner)
    train_tokens = [tokenize(c) for it in train for c in it.captions]
    train_owner = torch.tensor([i for i, it in enumerate(train) for _ in it.captions])
    similarity = feature_similarity_scores(test_feats, bag_of_words(vocab, tokens), train_feats,
                                           bag_of_words(vocab, train_tokens), train_owner)
    result |= {"baseline": retrieval_metrics(similarity, owner), "split": split, "images": len(test),
               "captions": len(tokens), "score_seconds": round(seconds, 1), "precision": precision}
    update_metrics(run, {"retrieval": result})
    return result
