"""Readers of captioning data sets as distributed: COCO captions JSON and Karpathy split files.

- COCO (``annotations/captions_train2014.json``): ``{"images": [{"id", "file_name", ...}],
  "annotations": [{"image_id", "caption", ...}]}`` with the images in one folder (``train2014/``).
  The same reader takes a user's own folder of images with a captions JSON in that layout.
- Karpathy splits (``dataset_coco.json``, ``dataset_flickr8k.json``, ``dataset_flickr30k.json``):
  ``{"images": [{"filepath"?, "filename", "split", "sentences": [{"raw", "tokens"}], "imgid", "cocoid"?}]}``;
  ``split`` is train, val, test or restval (COCO's extra 30k validation images, usually trained on).

Only the index is read: image files are not opened here (the feature cache reports unreadable ones
one by one). Images with no caption are left out: they can be neither trained on nor scored.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lrcn.errors import LrcnError
from lrcn.files import read_text


@dataclass
class ImageCaptions:
    """One image and its reference captions."""

    path: Path
    captions: list[str]
    split: str
    image_id: int | str


def read_json_index(path: str | os.PathLike) -> dict[str, Any]:
    """A JSON object with an ``images`` list from ``path``, or LrcnError naming the file."""
    try:
        data = json.loads(read_text(path))
    except json.JSONDecodeError as e:
        raise LrcnError(f"{path}: not valid JSON ({e})") from None
    except ValueError as e:  # a number of more than 4300 digits: Python's int() refuses it
        raise LrcnError(f"{path}: not valid JSON ({str(e).split(':')[0]})") from None
    except RecursionError:
        raise LrcnError(f"{path}: not valid JSON (nested too deeply)") from None
    if not isinstance(data, dict) or not isinstance(data.get("images"), list):
        raise LrcnError(f"{path}: expected a JSON object with an 'images' list")
    return data


def _field(path: str | os.PathLike, where: str, entry: Any, key: str, kind: type | tuple[type, ...]) -> Any:
    if not isinstance(entry, dict) or not isinstance(entry.get(key), kind):
        raise LrcnError(f"{path}: {where} has no valid '{key}'")
    return entry[key]


def read_coco(captions_json: str | os.PathLike, image_dir: str | os.PathLike, split: str) -> list[ImageCaptions]:
    """Images (in ``images[]`` order) with their captions (in ``annotations[]`` order), all tagged ``split``."""
    data = read_json_index(captions_json)
    if not isinstance(data.get("annotations"), list):
        raise LrcnError(f"{captions_json}: expected an 'annotations' list (a COCO captions file)")
    items: dict[int | str, ImageCaptions] = {}
    for n, image in enumerate(data["images"]):
        image_id = _field(captions_json, f"images[{n}]", image, "id", (int, str))
        name = _field(captions_json, f"images[{n}]", image, "file_name", str)
        if image_id in items:
            raise LrcnError(f"{captions_json}: images[{n}] repeats id {_show(image_id)}")
        items[image_id] = ImageCaptions(Path(image_dir) / name, [], split, image_id)
    for n, ann in enumerate(data["annotations"]):
        image_id = _field(captions_json, f"annotations[{n}]", ann, "image_id", (int, str))
        caption = _field(captions_json, f"annotations[{n}]", ann, "caption", str)
        if image_id not in items:
            raise LrcnError(f"{captions_json}: annotations[{n}] refers to image_id {_show(image_id)}, not in images[]")
        items[image_id].captions.append(caption.strip())
    return [item for item in items.values() if item.captions]


def read_karpathy(dataset_json: str | os.PathLike, image_root: str | os.PathLike) -> list[ImageCaptions]:
    """Every image of a Karpathy split file, with its split as written (train, val, test, restval).

    The path is ``image_root/filepath/filename`` (COCO, e.g. ``val2014/COCO_val2014_...jpg``) or
    ``image_root/filename`` (Flickr8k/30k, which have no ``filepath``). The id is ``cocoid`` if
    present, else ``imgid``. A sentence's ``raw`` text is the caption (its ``tokens`` joined if absent).
    """
    data = read_json_index(dataset_json)
    items = []
    for n, image in enumerate(data["images"]):
        where = f"images[{n}]"
        name = _field(dataset_json, where, image, "filename", str)
        split = _field(dataset_json, where, image, "split", str)
        sentences = _field(dataset_json, where, image, "sentences", list)
        folder = Path(image_root) / image["filepath"] if isinstance(image.get("filepath"), str) else Path(image_root)
        image_id = image.get("cocoid", image.get("imgid", n))
        if not isinstance(image_id, (int, str)):
            raise LrcnError(f"{dataset_json}: {where} has no valid 'cocoid' or 'imgid' (a number or a string)")
        captions = [_sentence(dataset_json, f"{where}.sentences[{k}]", s) for k, s in enumerate(sentences)]
        if captions:
            items.append(ImageCaptions(folder / name, captions, split, image_id))
    return items


def _show(image_id: int | str) -> str:
    """An id for an error message: a number as is, a string quoted (it may hold a line break) and cut short."""
    if isinstance(image_id, str):
        return repr(image_id if len(image_id) <= 60 else image_id[:60] + "...")
    return str(image_id)


def _sentence(path: str | os.PathLike, where: str, sentence: Any) -> str:
    if isinstance(sentence, dict) and isinstance(sentence.get("raw"), str):
        return sentence["raw"].strip()
    tokens = _field(path, where, sentence, "tokens", list)
    return " ".join(map(str, tokens))


def select_split(items: list[ImageCaptions], splits: str | tuple[str, ...]) -> list[ImageCaptions]:
    """The items whose split is one of ``splits`` (e.g. ``("train", "restval")``)."""
    wanted = (splits,) if isinstance(splits, str) else splits
    return [item for item in items if item.split in wanted]
