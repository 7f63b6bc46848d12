"""Flickr30k's caption file as distributed, ``results_20130124.token`` (Flickr8k's ``Flickr8k.token.txt`` too).

One caption per line: ``<image file>#<n>\\t<caption>``, e.g.
``1000092795.jpg#0\\tTwo young guys with shaggy hair look at their hands while hanging out in the yard .``
The file has no splits: every item gets split ``"all"`` (the usual splits are in ``dataset_flickr30k.json``,
read by :func:`lrcn.data.coco.read_karpathy`).
"""
from __future__ import annotations

import os
from pathlib import Path

from lrcn.data.coco import ImageCaptions
from lrcn.files import read_text
from lrcn.errors import LrcnError


def read_token_file(path: str | os.PathLike, image_dir: str | os.PathLike) -> list[ImageCaptions]:
    """Images in order of first appearance, each with its captions in file order; blank lines are skipped."""
    items: dict[str, ImageCaptions] = {}
    for lineno, line in enumerate(read_text(path).split("\n"), 1):  # not splitlines(): a caption may hold U+2028
        line = line.rstrip("\r")
        if not line.strip():
            continue
        key, tab, caption = line.partition("\t")
        name, hash_, number = key.strip().rpartition("#")
        if not tab or not hash_ or not name or not number.isdigit() or not caption.strip():
            raise LrcnError(f"{path}:{lineno}: expected '<image>#<n><TAB><caption>', got {line[:60]!r}")
        if name not in items:
            items[name] = ImageCaptions(Path(image_dir) / name, [], "all", Path(name).stem)
        items[name].captions.append(caption.strip())
    return list(items.values())
