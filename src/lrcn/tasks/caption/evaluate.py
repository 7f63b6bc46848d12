"""``lrcn eval caption``: captions of a split's images against their references (COCO metrics by pycocoevalcap),
beside the nearest-neighbour baseline, and a gallery of examples."""
from __future__ import annotations

import math
import time
from pathlib import Path

import torch

from lrcn.bundle import open_run_bundle
from lrcn.data.coco import ImageCaptions
from lrcn.device import resolve
from lrcn.errors import LrcnError
from lrcn.features.cache import FeatureCache
from lrcn.files import read_json, write_json
from lrcn.metrics.captions import caption_scores_many
from lrcn.models.decoding import Decoding
from lrcn.tasks.caption.data import image_features, read_caption_folder, split_items
from lrcn.tasks.caption.predictor import CaptionPredictor

METRICS_FILE = "metrics.json"
GALLERY_FILE = "gallery.png"


def load_captioner(run: Path, device, decoding: Decoding = Decoding()) -> CaptionPredictor:
    return CaptionPredictor(open_run_bundle(run, "caption"), device, decoding)


def split_features(model: CaptionPredictor, split: str, cache: Path | None
                   ) -> tuple[list[ImageCaptions], torch.Tensor, list[ImageCaptions], torch.Tensor]:
    """(test items, their features (N, D), training items, theirs), through the feature cache."""
    d = model.cfg.data
    items = read_caption_folder(d.root, d.images)
    fc = FeatureCache(cache, model.extractor.spec, model.extractor)
    test, test_feats, _ = image_features(fc, split_items(items, split, d.root), d.workers, split)
    train, train_feats, _ = image_features(fc, split_items(items, "train", d.root), d.workers, "train")
    return test, test_feats, train, train_feats


def nearest_neighbour_captions(train_feats: torch.Tensor, train_captions: list[str], test_feats: torch.Tensor,
                               chunk: int = 1000) -> list[str]:
    """Baseline: each test image gets the (first) caption of the training image most similar in CNN feature
    space (cosine). train_feats (N, D), test_feats (M, D) -> M captions."""
    train = unit(train_feats)
    nearest = torch.cat([(unit(t) @ train.T).argmax(1) for t in test_feats.split(chunk)])  # (M,)
    return [train_captions[i] for i in nearest.tolist()]


def unit(x: torch.Tensor) -> torch.Tensor:
    return torch.nn.functional.normalize(x.float(), dim=-1)  # rows of length 1: dot products are cosines


def evaluate_captions(runs: list[Path], split: str = "test", decoding: Decoding = Decoding(), limit: int | None = None,
                      gallery: bool = True, cache: Path | None = None, device: str = "auto") -> dict[str, dict]:
    """Caption the split's images with each run, score them and the nearest-neighbour baseline (one start of the
    Java scorers for all); write each RUN/metrics.json ("captioning") and RUN/gallery.png.

    The runs must read the same data. Returns {str(run): {bleu1..bleu4, meteor, rouge_l, cider, ...},
    "nearest_neighbour": {...}}.
    """
    dev = resolve(device)
    models = [load_captioner(run, dev, decoding) for run in runs]
    first = models[0]
    for run, m in zip(runs, models):
        if (m.cfg.data.root, m.cfg.data.images, m.extractor.spec) != (first.cfg.data.root, first.cfg.data.images,
                                                                       first.extractor.spec):
            raise LrcnError(f"{run}: reads other data or features than {runs[0]}; evaluate it on its own")
    test, test_feats, train, train_feats = split_features(first, split, cache)
    test, test_feats = test[:limit], test_feats[:limit]
    refs = {str(it.path): it.captions for it in test}
    systems, seconds = {}, {}
    for run, m in zip(runs, models):
        t0 = time.time()
        captions = [m.vocab.decode(beam[0][0]) for beam in m.captions(test_feats)]
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
                          first.cfg.features.image_size)
        update_metrics(run, {"captioning": scores[str(run)], "nearest_neighbour": scores["nearest_neighbour"]})
    scores["nearest_neighbour"] |= about
    return scores


def update_metrics(run: Path, entries: dict) -> None:
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
