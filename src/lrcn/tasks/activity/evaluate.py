"""``lrcn eval activity``: video and clip accuracy, per-class accuracy and the confusion matrix on the run's test
split (its features cached first), optionally fused with a second stream's run (the paper's late fusion)."""
from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from lrcn.bundle import open_run_bundle
from lrcn.device import resolve
from lrcn.errors import LrcnError
from lrcn.features.cache import FeatureCache
from lrcn.files import atomic_path, write_json
from lrcn.metrics.classification import accuracy, confusion_matrix, fuse, per_class_accuracy, plot_confusion
from lrcn.tasks.activity.data import VideoClips, build_features, cached, pair_permutation, read_videos
from lrcn.tasks.activity.predictor import Stream

CROPS = {1: "center", 10: "ten"}


@dataclass
class TestScores:
    """Per-video results on a test set: the averaged softmax of each video, and every clip's."""

    classes: list[str]
    paths: list[str]
    labels: np.ndarray  # (N,)
    scores: np.ndarray  # (N, C) video probabilities
    clip_labels: np.ndarray  # (K,)
    clip_scores: np.ndarray  # (K, C)
    skipped: list[str]


def eval_cache(stream: Stream, views: str, cache: Path | None) -> FeatureCache:
    """Where the run's test features go: keyed by its CNN (the registry's, or its own fine-tuned weights) and views;
    computed by the run's own extractor (its crops come from the cache's spec)."""
    return FeatureCache(cache, replace(stream.extractor.spec, views=views), stream.extractor)


def score_test_set(stream: Stream, crops: int = 1, cache: Path | None = None, workers: int | None = None) -> TestScores:
    """Run a trained head over its data set's test split (features cached first)."""
    if crops not in CROPS:
        raise LrcnError(f"--crops {crops}: choose 1 (centre) or 10 (corners, centre and mirrors)")
    d = stream.cfg.data
    videos = read_videos(d)
    views = CROPS[crops]
    fc = eval_cache(stream, views, cache)
    skipped = build_features(fc, videos.test, d.workers if workers is None else workers, "test")
    items = cached(fc, videos.test)
    if not items:
        raise LrcnError(f"{d.root}: no test video could be decoded")
    mirror = pair_permutation(stream.cfg.train.mirror_pairs, stream.classes, "--mirror-pair", d.root)
    scores, clip_scores, clip_labels = [], [], []
    for clips, label in VideoClips(fc, items, d.clip_len, d.stride):
        per_clip, video = stream.clip_scores(clips, views, mirror)
        scores.append(video)
        clip_scores.append(per_clip)
        clip_labels += [label] * len(per_clip)
    return TestScores(stream.classes, [str(it.path) for it in items], np.array([it.label for it in items]),
                      np.stack(scores), np.array(clip_labels), np.concatenate(clip_scores), skipped)


def classification_metrics(scores: TestScores) -> dict:
    """Clip and video accuracy, per-class video accuracy and the confusion matrix."""
    predicted = scores.scores.argmax(1)
    cm = confusion_matrix(predicted, scores.labels, len(scores.classes))
    per_class = per_class_accuracy(cm)
    return {
        "video_acc": accuracy(predicted, scores.labels),
        "clip_acc": accuracy(scores.clip_scores.argmax(1), scores.clip_labels) if len(scores.clip_labels) else None,
        "num_videos": len(scores.labels),
        "num_clips": len(scores.clip_labels),
        "per_class": {c: (None if np.isnan(a) else float(a)) for c, a in zip(scores.classes, per_class)},
        "confusion": cm.tolist(),
        "skipped": scores.skipped,
    }


def evaluate(run: Path, crops: int = 1, cache: Path | None = None, fuse_run: Path | None = None,
             weights: tuple[float, float] = (0.5, 0.5), workers: int | None = None, device: str = "auto") -> dict:
    """Evaluate ``run`` on its test split (optionally fused with a second stream's run).

    Writes ``RUN/metrics.json``, ``RUN/confusion.png`` and ``RUN/scores.npz`` (per-video averaged softmax); with
    ``fuse_run``, ``RUN/fusion-<a>-<b>.json`` and ``RUN/confusion-fusion-<a>-<b>.png``.
    """
    run, dev = Path(run), resolve(device)
    stream = load_stream(run, dev)
    scores = score_test_set(stream, crops, cache, workers)
    cfg = stream.cfg
    about = {"run": str(run), "data": str(cfg.data.root), "split": cfg.data.split, "classes": len(scores.classes),
             "arch": cfg.model.arch, "modality": cfg.data.modality, "backbone": cfg.features.backbone,
             "frozen": not cfg.train.finetune, "crops": crops, "clip_len": cfg.data.clip_len,
             "stride": cfg.data.stride, "seed": cfg.train.seed}
    metrics = {**about, **classification_metrics(scores)}
    write_json(run / "metrics.json", metrics)
    plot_confusion(np.array(metrics["confusion"]), scores.classes, run / "confusion.png",
                   f"{cfg.data.modality} {cfg.model.arch}: video acc {metrics['video_acc']:.3f}")
    with atomic_path(run / "scores.npz") as tmp:
        with open(tmp, "wb") as f:
            np.savez(f, classes=np.array(scores.classes), paths=np.array(scores.paths), labels=scores.labels,
                     scores=scores.scores)
    if fuse_run is None:
        return metrics
    other = score_test_set(load_stream(Path(fuse_run), dev), crops, cache, workers)
    if other.classes != scores.classes:
        raise LrcnError(f"{fuse_run}: its classes differ from {run}'s; cannot fuse")
    common = sorted(set(scores.paths) & set(other.paths))
    ia = [scores.paths.index(p) for p in common]
    ib = [other.paths.index(p) for p in common]
    fused = TestScores(scores.classes, common, scores.labels[ia], fuse(scores.scores[ia], other.scores[ib], weights),
                       np.zeros(0, int), np.zeros((0, len(scores.classes))), sorted(set(scores.skipped) | set(other.skipped)))
    tag = f"{weights[0]:g}-{weights[1]:g}"
    fmetrics = {**about, "fused_with": str(fuse_run), "weights": list(weights), **classification_metrics(fused)}
    write_json(run / f"fusion-{tag}.json", fmetrics)
    plot_confusion(np.array(fmetrics["confusion"]), scores.classes, run / f"confusion-fusion-{tag}.png",
                   f"fusion {tag}: video acc {fmetrics['video_acc']:.3f}")
    return {**metrics, "fusion": fmetrics}


def load_stream(run: Path, device) -> Stream:
    return Stream(open_run_bundle(run, "activity"), device)
