"""Classification metrics as pure functions on numpy arrays, the confusion-matrix plot, and late fusion."""
from __future__ import annotations

import os
from typing import Sequence

import numpy as np

from lrcn.errors import LrcnError
from lrcn.files import atomic_path


def accuracy(predicted: np.ndarray, labels: np.ndarray) -> float:
    """Fraction of ``predicted`` (N,) equal to ``labels`` (N,)."""
    return float(np.mean(np.asarray(predicted) == np.asarray(labels))) if len(labels) else float("nan")


def confusion_matrix(predicted: np.ndarray, labels: np.ndarray, num_classes: int) -> np.ndarray:
    """(C, C) counts; row = true class, column = predicted class."""
    cm = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(cm, (np.asarray(labels), np.asarray(predicted)), 1)
    return cm


def per_class_accuracy(confusion: np.ndarray) -> np.ndarray:
    """(C,) accuracy of each true class (recall); NaN for a class with no example."""
    totals = confusion.sum(1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(totals > 0, np.diag(confusion) / np.maximum(totals, 1), np.nan)


def fuse(scores_a: np.ndarray, scores_b: np.ndarray, weights: Sequence[float] = (0.5, 0.5)) -> np.ndarray:
    """Late fusion as in the paper: ``w_a * scores_a + w_b * scores_b`` (N, C), e.g. (1/3 RGB, 2/3 flow)."""
    if len(weights) != 2 or min(weights) < 0 or sum(weights) <= 0:
        raise LrcnError(f"--weights {','.join(map(str, weights))}: give two non-negative weights, e.g. 0.5,0.5")
    if scores_a.shape != scores_b.shape:
        raise LrcnError(f"cannot fuse scores of shapes {scores_a.shape} and {scores_b.shape}")
    return weights[0] * scores_a + weights[1] * scores_b


def plot_confusion(confusion: np.ndarray, classes: Sequence[str], path: str | os.PathLike, title: str = "") -> None:
    """Row-normalised confusion matrix as a PNG (written atomically)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rates = confusion / np.maximum(confusion.sum(1, keepdims=True), 1)
    n = len(classes)
    fig, ax = plt.subplots(figsize=(2 + 0.45 * n, 1.5 + 0.45 * n))
    ax.imshow(rates, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(n), classes, rotation=90, fontsize=7)
    ax.set_yticks(range(n), classes, fontsize=7)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    if n <= 30:
        for i in range(n):
            for j in range(n):
                if confusion[i, j]:
                    ax.text(j, i, str(confusion[i, j]), ha="center", va="center", fontsize=6,
                            color="white" if rates[i, j] > 0.5 else "black")
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    plt.close(fig)
