"""A user's own videos, one folder per class: ``root/<Class>/<any name>.<avi|mp4|mkv|webm|mov>``.

Class names are the folder names, sorted; videos are found at any depth below their class folder,
sorted; hidden files and folders (``.name``) are ignored. Whether a video decodes is not checked here.
"""
from __future__ import annotations

import os
from collections import defaultdict
from pathlib import Path

import numpy as np

from lrcn.data.ucf101 import VideoItem
from lrcn.errors import LrcnError

VIDEO_EXTENSIONS = (".avi", ".mp4", ".mkv", ".webm", ".mov")


def read_folder(root: str | os.PathLike) -> tuple[list[str], list[VideoItem]]:
    """(class names, videos labelled by their class folder). Folders holding no video are not classes."""
    root = Path(root)
    if not root.is_dir():
        raise LrcnError(f"{root}: not a folder (expected one folder per class of videos)")
    folders = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not folders:
        raise LrcnError(f"{root}: no class folders (expected {root}/<Class>/<video>)")
    classes: list[str] = []
    items: list[VideoItem] = []
    for folder in folders:
        videos = sorted(p for p in folder.rglob("*") if _is_video(p, folder))
        if videos:
            items += [VideoItem(p, len(classes)) for p in videos]
            classes.append(folder.name)
    if not items:
        raise LrcnError(f"{root}: no videos ({', '.join(VIDEO_EXTENSIONS)}) in any class folder")
    return classes, items


def split_items(items: list[VideoItem], test_fraction: float = 0.25, seed: int = 0) -> tuple[list[VideoItem], list[VideoItem]]:
    """Stratified random split: about ``test_fraction`` of each class to test, at least one video kept for training.

    Deterministic for a seed; each side keeps the input order.
    """
    if not 0 <= test_fraction < 1:
        raise LrcnError(f"test fraction {test_fraction}: must be in [0, 1)")
    if seed < 0:  # NumPy seeds are non-negative: default_rng([-1, 0]) raises ValueError
        raise LrcnError(f"split seed {seed}: must be a non-negative integer")
    by_class: dict[int, list[int]] = defaultdict(list)
    for i, item in enumerate(items):
        by_class[item.label].append(i)
    test: set[int] = set()
    for label, indices in sorted(by_class.items()):
        k = min(round(len(indices) * test_fraction), len(indices) - 1)
        if test_fraction > 0 and len(indices) > 1:
            k = max(k, 1)
        rng = np.random.default_rng([seed, label])
        test.update(rng.permutation(indices)[:k].tolist())
    return [it for i, it in enumerate(items) if i not in test], [it for i, it in enumerate(items) if i in test]


def _is_video(path: Path, folder: Path) -> bool:
    rel = path.relative_to(folder).parts
    return path.suffix.lower() in VIDEO_EXTENSIONS and not any(p.startswith(".") for p in rel) and path.is_file()
