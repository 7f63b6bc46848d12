"""UCF101's split lists, read exactly as distributed: which videos, with which labels (the index only).

The distribution has the class index and the three splits in ``ucfTrainTestlist/``::

    classInd.txt      "1 ApplyEyeMakeup"                                 (1-based, CRLF line ends)
    trainlist01.txt   "ApplyEyeMakeup/v_ApplyEyeMakeup_g08_c01.avi 1"    (path and 1-based label)
    testlist01.txt    "ApplyEyeMakeup/v_ApplyEyeMakeup_g01_c01.avi"      (path only: label from the class folder)

``root`` is the folder holding ``ucfTrainTestlist/`` (or the list files themselves) and the class folders.
The videos of the official archive sit in ``UCF-101/<Class>/``; when ``root/UCF-101`` exists, paths resolve
there. Whether a video exists or decodes is not checked here: feature extraction reports and skips broken ones.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from lrcn.errors import LrcnError

LIST_DIR = "ucfTrainTestlist"
SPLITS = (1, 2, 3)
_GROUP = re.compile(r"_g([0-9]{1,9})_c[0-9]+\.\w+$")


@dataclass(frozen=True)
class VideoItem:
    path: Path
    label: int  # 0-based index into the class list
    group: int | None = None  # UCF101's gXX: clips of one group share actor and scene


def list_file(root: str | os.PathLike, name: str) -> Path:
    """``root/ucfTrainTestlist/name`` if present, else ``root/name``."""
    root = Path(root)
    nested = root / LIST_DIR / name
    return nested if nested.exists() else root / name


def video_root(root: str | os.PathLike) -> Path:
    """Folder holding the class folders: ``root/UCF-101`` (the official archive) if present, else ``root``."""
    root = Path(root)
    return root / "UCF-101" if (root / "UCF-101").is_dir() else root


def read_classes(root: str | os.PathLike) -> list[str]:
    """Class names in label order, from ``classInd.txt`` (lines ``"<1-based index> <name>"``, in order)."""
    path = list_file(root, "classInd.txt")
    classes: list[str] = []
    for n, fields in _lines(path):
        if len(fields) != 2 or _number(fields[0]) is None:
            raise LrcnError(f"{path}:{n}: expected '<index> <ClassName>', got {_quote(' '.join(fields))}")
        if _number(fields[0]) != len(classes) + 1:
            raise LrcnError(f"{path}:{n}: class index {fields[0]} out of order (expected {len(classes) + 1})")
        if fields[1] in classes:
            raise LrcnError(f"{path}:{n}: class {_quote(fields[1])} listed twice")
        classes.append(fields[1])
    if not classes:
        raise LrcnError(f"{path}: no classes listed")
    return classes


def read_split(root: str | os.PathLike, split: int, subset: Literal["train", "test"]) -> list[VideoItem]:
    """The videos of ``trainlist0<split>.txt`` or ``testlist0<split>.txt``, in list order.

    A train line is ``<Class>/<file> <label>`` (1-based); a test line is ``<Class>/<file>``, its label
    the class folder's index. A label that disagrees with the class folder is an error.
    """
    if split not in SPLITS:
        raise LrcnError(f"split {split}: UCF101 has splits {', '.join(map(str, SPLITS))}")
    if subset not in ("train", "test"):
        raise LrcnError(f"subset {subset!r}: choose train or test")
    classes = read_classes(root)
    index = {name: i for i, name in enumerate(classes)}
    path = list_file(root, f"{subset}list0{split}.txt")
    videos = video_root(root)
    items: list[VideoItem] = []
    for n, fields in _lines(path):
        if len(fields) > 2 or "/" not in fields[0]:
            raise LrcnError(f"{path}:{n}: expected '<Class>/<video> [label]', got {_quote(' '.join(fields))}")
        rel = fields[0]
        folder = rel.split("/", 1)[0]
        if folder not in index:
            raise LrcnError(f"{path}:{n}: class {_quote(folder)} is not in classInd.txt")
        label = index[folder]
        if len(fields) == 2:
            number = _number(fields[1])
            if number is None or not 1 <= number <= len(classes):
                raise LrcnError(f"{path}:{n}: label {_quote(fields[1])} is not a class index 1..{len(classes)}")
            if number - 1 != label:
                raise LrcnError(f"{path}:{n}: label {number} ({_quote(classes[number - 1])}) does not match the folder {_quote(folder)}")
        group = _GROUP.search(rel)
        items.append(VideoItem(videos / rel, label, int(group.group(1)) if group else None))
    if not items:
        raise LrcnError(f"{path}: no videos listed")
    return items


def _number(field: str) -> int | None:
    """``field`` as an integer if it is plain ASCII digits, else None.

    Not ``str.isdigit`` alone: it accepts '²' and '٣', which ``int`` refuses or reads, and a run of
    thousands of digits, which ``int`` refuses (Python's 4300-digit limit).
    """
    return int(field) if field.isascii() and field.isdigit() and len(field) <= 18 else None


def _quote(text: str, limit: int = 60) -> str:
    """``text`` quoted for an error message, cut to ``limit`` characters (a line may be megabytes long)."""
    return repr(text if len(text) <= limit else text[:limit] + "...")


def _lines(path: Path) -> list[tuple[int, list[str]]]:
    """(1-based line number, whitespace-split fields) of each non-blank line; LrcnError if unreadable."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise LrcnError(f"{path}: no such file (expected UCF101's {path.name}, in {LIST_DIR}/ or the data folder)") from None
    except (OSError, UnicodeDecodeError) as e:
        raise LrcnError(f"{path}: cannot read ({type(e).__name__}: {e})") from None
    return [(n, line.split()) for n, line in enumerate(text.splitlines(), 1) if line.strip()]
