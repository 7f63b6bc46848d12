"""``lrcn eval describe``: BLEU-4, METEOR and CIDEr-D of the generated sentences, and SR accuracy per slot and for the
whole tuple, on a split of the run's data (features from the cache)."""
from __future__ import annotations

from pathlib import Path

import torch

from lrcn.bundle import open_run_bundle
from lrcn.data.tacos import SLOTS
from lrcn.device import resolve, threads
from lrcn.errors import LrcnError
from lrcn.files import write_json
from lrcn.metrics.captions import caption_scores
from lrcn.models.decoding import Decoding
from lrcn.tasks.describe.data import encode_labels, load_data
from lrcn.tasks.describe.predictor import DescribePredictor


def evaluate(run: str | Path, split: str = "test", decoding: Decoding = Decoding(), cache: Path | None = None,
             device: str = "auto") -> dict:
    """Metrics of ``run`` on ``split``, written to RUN/metrics.json (with eight examples)."""
    model = DescribePredictor(open_run_bundle(run, "describe"), resolve(device), decoding)
    intervals, frames, _ = load_data(model.cfg, cache, model.device)
    rows = [r for r, i in enumerate(intervals) if i.split == split]
    if not rows:
        raise LrcnError(f"{model.cfg.data.root}: no {split} interval")
    with threads(1):
        beams, pred, marginals = model.infer(torch.from_numpy(frames[rows]))
    sentences = [model.vocab.decode(beam[0][0]) for beam in beams]
    sizes = [len(n) for n in model.labels]
    confidence = [m.max(1).values.mean() for m in marginals.split(sizes, dim=1)]  # per slot
    correct = (pred == encode_labels([intervals[r] for r in rows], model.labels)).float()  # (N, K)
    scores = caption_scores({r: intervals[r].sentences for r in rows}, dict(zip(rows, sentences)))
    metrics = {
        "variant": model.cfg.model.variant, "split": split, "intervals": len(rows), **scores,
        "sr_accuracy": {**{s: round(float(correct[:, k].mean()), 4) for k, s in enumerate(SLOTS)},
                        "tuple": round(float(correct.all(1).float().mean()), 4)},
        "sr_confidence": {s: round(float(c), 4) for s, c in zip(SLOTS, confidence)},  # mean p(MAP label)
        "examples": [{"video": str(intervals[r].video), "start": intervals[r].start, "end": intervals[r].end,
                      "sentence": sentence, "sr": {s: model.labels[k][p[k]] for k, s in enumerate(SLOTS)},
                      "references": intervals[r].sentences}
                     for r, sentence, p in list(zip(rows, sentences, pred.tolist()))[:8]],
    }
    write_json(Path(run) / "metrics.json", metrics)
    return metrics
