"""A tiny UCF101-layout data set written by the tests themselves: a square moving left or right."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from lrcn.data.video import write_video

CLASSES = ["MoveLeft", "MoveRight"]


def moving_square(direction: int, rng: np.random.Generator, frames: int = 20, size: tuple[int, int] = (48, 64)) -> np.ndarray:
    h, w = size
    video = np.full((frames, h, w, 3), 40, np.uint8)
    x0, y = int(rng.integers(16, w - 28)), int(rng.integers(4, h - 16))
    for t in range(frames):
        x = int(np.clip(x0 + direction * (t - frames // 2) * 2, 0, w - 12))
        video[t, y : y + 12, x : x + 12] = (230, 200, 40)
    return video


def write_ucf101(root: Path, groups: int = 5, test_groups: int = 2, seed: int = 0) -> Path:
    """``root`` in the UCF101 layout, ``groups`` groups of one clip per class; the last ``test_groups`` are test."""
    rng = np.random.default_rng(seed)
    lists = root / "ucfTrainTestlist"
    lists.mkdir(parents=True)
    (lists / "classInd.txt").write_text("".join(f"{i + 1} {c}\n" for i, c in enumerate(CLASSES)))
    train, test = [], []
    for label, name in enumerate(CLASSES):
        for g in range(1, groups + 1):
            rel = f"{name}/v_{name}_g{g:02d}_c01.avi"
            write_video(root / rel, moving_square(-1 if label == 0 else 1, rng))
            (test if g > groups - test_groups else train).append((rel, label + 1))
    for s in (1, 2, 3):
        (lists / f"trainlist0{s}.txt").write_text("".join(f"{rel} {lab}\n" for rel, lab in train))
        (lists / f"testlist0{s}.txt").write_text("".join(f"{rel}\n" for rel, _ in test))
    return root
