"""Evaluating caption runs: generated captions against the references (COCO metrics), the nearest-neighbour
baseline, image-sentence retrieval (R@K, median rank) and its feature-similarity baseline, a sample gallery.

Retrieval scores every (image, caption) pair of a split by log p(caption | image) under the captioner:
one broadcast forward pass per block of images x captions (see :func:`pair_logprob`), never a Python
loop over pairs.
"""
from __future__ import annotations

import math
import time
from pathlib import Path

import torch

from lrcn.data.coco import ImageCaptions
from lrcn.data.text import Vocabulary, encode_batch, tokenize
from lrcn.errors import LrcnError
from lrcn.files import read_json, write_json
from lrcn.metrics.captions import caption_scores_many
from lrcn.metrics.retrieval import normalise_logp, retrieval_metrics
from lrcn.models.captioner import Captioner, sentence_logprob
from lrcn.models.decoding import beam_search, greedy, sample, trim
from lrcn.progress import track
from lrcn.tasks.caption import (CaptionConfig, CaptionModule, Decoding, image_features, load_run, read_caption_folder,
                                split_items)

METRICS_FILE = "metrics.json"
GALLERY_FILE = "gallery.png"


@torch.inference_mode()
def decode(module: CaptionModule, vocab: Vocabulary, feats: torch.Tensor, decoding: Decoding, max_len: int = 20,
           batch_size: int = 250) -> tuple[list[str], list[float]]:
    """Captions (and their log-probabilities) of CNN features (N, D), in batches of images."""
    generator = torch.Generator().manual_seed(decoding.seed)
    steps = max_len + 1  # the words and eos
    bos, eos = vocab.bos, vocab.eos
    captions, logprobs = [], []
    for chunk in feats.split(batch_size):
        cond = module.encode(chunk)
        if decoding.sample > 0:
            tokens, lp = sample(module.captioner, cond, bos, eos, decoding.sample, decoding.temperature, steps, generator)
            pairs = zip(trim(tokens, eos), lp.tolist())
        elif decoding.beam > 1:
            beams = beam_search(module.captioner, cond, bos, eos, decoding.beam, steps, decoding.length_norm)
            pairs = (beam[0] for beam in beams)
        else:
            tokens, lp = greedy(module.captioner, cond, bos, eos, steps)
            pairs = zip(trim(tokens, eos), lp.tolist())
        for words, score in pairs:
            captions.append(vocab.decode(words))
            logprobs.append(score)
    return captions, logprobs


def nearest_neighbour_captions(train_feats: torch.Tensor, train_captions: list[str], test_feats: torch.Tensor,
                               chunk: int = 1000) -> list[str]:
    """Baseline: each test image gets the (first) caption of the training image most similar in CNN feature
    space (cosine). train_feats (N, D), test_feats (M, D) -> M captions."""
    train = _unit(train_feats)
    nearest = torch.cat([(_unit(t) @ train.T).argmax(1) for t in test_feats.split(chunk)])  # (M,)
    return [train_captions[i] for i in nearest.tolist()]


def _unit(x: torch.Tensor) -> torch.Tensor:
    return torch.nn.functional.normalize(x.float(), dim=-1)  # rows of length 1: dot products are cosines


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
    train_text = _unit(train_bows)
    proxies = []
    for bows in caption_bows.split(chunk):
        top = (_unit(bows) @ train_text.T).topk(k, dim=1).indices  # (c, k) training captions
        proxies.append(train_feats[train_owner[top]].mean(1))  # (c, D)
    return _unit(test_feats) @ _unit(torch.cat(proxies)).T


@torch.inference_mode()
def pair_logprob(captioner: Captioner, cond: torch.Tensor, inputs: torch.Tensor, targets: torch.Tensor, pad: int,
                 pairs_per_block: int = 8192, precision: str = "bf16", progress: bool = True) -> torch.Tensor:
    """log p(caption c | image i) for every pair: cond (I, D), inputs/targets (C, L) -> (I, C) float32.

    Captions are sorted by length and cut into blocks, each block trimmed to its longest caption;
    each (images x captions) block is one broadcast forward pass (language-only layers run once per
    caption). Word probabilities are floored at 1e-12 as in the authors' ``retrieval_experiment.py``.
    ``precision="bf16"`` runs the matrix products in bfloat16 (about 2x faster on CPU).
    """
    num_images = cond.shape[0]
    lengths = (targets != pad).sum(1)
    order = lengths.argsort()
    caps_per_block = max(1, min(len(order), 1024))
    imgs_per_block = max(1, pairs_per_block // caps_per_block)
    out = torch.empty(num_images, len(order))
    blocks = [(c, i) for c in order.split(caps_per_block) for i in range(0, num_images, imgs_per_block)]
    for caps, start in (track(blocks, "scoring pairs") if progress else blocks):
        width = int(lengths[caps].max())
        inp, tgt = inputs[caps, :width][None], targets[caps, :width][None]  # (1, c, L)
        img = cond[start : start + imgs_per_block, None]  # (i, 1, D)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == "bf16"):
            block = sentence_logprob(captioner, img, inp, tgt, pad, floor=1e-12)  # (i, c)
        out[start : start + imgs_per_block, caps] = block.float()
    return out


def _split_data(cfg: CaptionConfig, split: str) -> tuple[list[ImageCaptions], torch.Tensor, list[ImageCaptions], torch.Tensor]:
    items = read_caption_folder(cfg.data.root, cfg.data.images)
    test, test_feats = image_features(cfg, split_items(items, split, cfg.data.root), f"{split} image features")
    train, train_feats = image_features(cfg, split_items(items, "train", cfg.data.root), "train image features")
    return test, test_feats, train, train_feats


def evaluate_captions(runs: list[Path], split: str = "test", decoding: Decoding = Decoding(), limit: int | None = None,
                      gallery: bool = True) -> dict[str, dict]:
    """Caption the split's images with each run, score them and the nearest-neighbour baseline (one start of the
    Java scorers for all); write each RUN/metrics.json ("captioning") and RUN/gallery.png.

    The runs must read the same data. Returns {str(run): {bleu1..bleu4, meteor, rouge_l, cider, ...},
    "nearest_neighbour": {...}}.
    """
    loaded = [load_run(run) for run in runs]
    cfg = loaded[0][0]
    for run, (other, _, _) in zip(runs, loaded):
        if (other.data.root, other.data.images, other.feature_spec()) != (cfg.data.root, cfg.data.images, cfg.feature_spec()):
            raise LrcnError(f"{run}: reads other data or features than {runs[0]}; evaluate it on its own")
    test, test_feats, train, train_feats = _split_data(cfg, split)
    test, test_feats = test[:limit], test_feats[:limit]
    refs = {str(it.path): it.captions for it in test}
    systems, seconds = {}, {}
    for run, (run_cfg, vocab, module) in zip(runs, loaded):
        t0 = time.time()
        captions, _ = decode(module, vocab, test_feats, decoding, run_cfg.data.max_len)
        seconds[str(run)] = round(time.time() - t0, 2)
        systems[str(run)] = dict(zip(refs, captions))
    baseline = nearest_neighbour_captions(train_feats, [it.captions[0] for it in train], test_feats)
    systems["nearest_neighbour"] = dict(zip(refs, baseline))
    scores = caption_scores_many(refs, systems)
    about = {"decoding": vars(decoding), "split": split, "images": len(test)}
    for run in runs:
        scores[str(run)] |= about | {"decode_seconds": seconds[str(run)]}
        if gallery:
            write_gallery(Path(run) / GALLERY_FILE, test[:8], list(systems[str(run)].values())[:8], baseline[:8],
                          cfg.data.image_size)
        _update_metrics(run, {"captioning": scores[str(run)], "nearest_neighbour": scores["nearest_neighbour"]})
    scores["nearest_neighbour"] |= about
    return scores


def evaluate_retrieval(run: Path, split: str = "test", limit: int | None = None, precision: str = "bf16") -> dict:
    """Rank the split's captions for each image and images for each caption; update RUN/metrics.json.

    Returns {"annotation": {r1, r5, r10, medr}, "search": {...}, "baseline": {"annotation", "search"}, ...}.
    """
    cfg, vocab, module = load_run(run)
    test, test_feats, train, train_feats = _split_data(cfg, split)
    test, test_feats = test[:limit], test_feats[:limit]
    tokens = [tokenize(c) for it in test for c in it.captions]
    owner = torch.tensor([i for i, it in enumerate(test) for _ in it.captions])
    inputs, targets = encode_batch(vocab, tokens, cfg.data.max_len)
    t0 = time.time()
    with torch.inference_mode():
        cond = module.encode(test_feats)
    logp = pair_logprob(module.captioner, cond, inputs, targets, vocab.pad, precision=precision)
    seconds = time.time() - t0
    result = retrieval_metrics(normalise_logp(logp), owner)
    train_tokens = [tokenize(c) for it in train for c in it.captions]
    train_owner = torch.tensor([i for i, it in enumerate(train) for _ in it.captions])
    similarity = feature_similarity_scores(test_feats, bag_of_words(vocab, tokens), train_feats,
                                           bag_of_words(vocab, train_tokens), train_owner)
    result |= {"baseline": retrieval_metrics(similarity, owner), "split": split, "images": len(test),
               "captions": len(tokens), "score_seconds": round(seconds, 1), "precision": precision}
    _update_metrics(run, {"retrieval": result})
    return result


def _update_metrics(run: Path, entries: dict) -> None:
    path = Path(run) / METRICS_FILE
    metrics = read_json(path) if path.is_file() else {}
    write_json(path, metrics | entries)


def write_gallery(path: Path, items: list[ImageCaptions], captions: list[str], baseline: list[str], size: int) -> None:
    """A grid of images, each with the generated caption, the nearest-neighbour caption and two references."""
    import textwrap

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from lrcn.data.images import load_image
    from lrcn.files import atomic_path

    cols = 4
    rows = math.ceil(len(items) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4 * cols, 5.4 * rows), squeeze=False)
    fig.subplots_adjust(left=0.02, right=0.98, top=0.98, bottom=0.12, wspace=0.08, hspace=0.55)
    for ax in axes.flat:
        ax.axis("off")
    for ax, item, caption, nn_caption in zip(axes.flat, items, captions, baseline):
        ax.imshow(load_image(item.path, size=(size, size)))
        lines = [f"LRCN: {caption}", f"NN: {nn_caption}", *(f"ref: {r}" for r in item.captions[:2])]
        text = "\n".join(textwrap.fill(line, 46, max_lines=3) for line in lines)
        ax.text(0, -0.03, text, transform=ax.transAxes, va="top", ha="left", fontsize=8)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=80)
    plt.close(fig)
