"""Reader of TACoS (multilevel) video description data: intervals of cooking videos, their sentences and SR tuples.

Layout read (the TACoS release: one video per cooking session, one aligned-text file per video)::

    ROOT/
      videos/<video-id>.avi                     one video per cooking session (any container PyAV reads:
                                                .avi, .mp4, .mkv, .webm, .mov; the first one found is used)
      alignments-text/<video-id>.aligned.tsv    one row per annotated interval, tab-separated, no header:
          start_frame  end_frame  activity  tool  object  source,target  sentence_1  [sentence_2 ...]
      splits/train.txt, splits/val.txt, splits/test.txt   optional; one video id per line

- ``start_frame``/``end_frame``: the interval's first and last frame (inclusive), counted from 0 in
  decoding order.
- Columns 3-6 are the interval's semantic representation (SR) <activity, tool, object, source, target>,
  the activity annotation TACoS inherits from MPII Cooking Composites ("take out", "hand",
  "cutting board", "counter,drawer"): the location column holds the source and the target separated by
  a comma. A location with one place is read as source = target = that place. An interval without SR
  leaves all four columns empty (``sr`` is then None).
- Every further column is one sentence describing the interval (TACoS has several annotators per
  interval); empty columns are skipped, and an interval needs at least one sentence.
- Without ``splits/``, videos (whole cooking sessions, never single intervals) are split 80/10/10 into
  train/val/test by a seeded shuffle of the sorted video ids.
"""
from __future__ import annotations

import csv
import io
import os
import random
from dataclasses import dataclass
from pathlib import Path

from lrcn.files import read_text
from lrcn.errors import LrcnError

SLOTS = ("activity", "tool", "object", "source", "target")  # the SR tuple, in the CRF's chain order
SPLITS = ("train", "val", "test")
VIDEO_EXTENSIONS = (".avi", ".mp4", ".mkv", ".webm", ".mov")


@dataclass(frozen=True)
class Interval:
    video: Path
    start: int  # first frame, inclusive
    end: int  # last frame, inclusive
    sentences: list[str]
    sr: dict[str, str] | None  # slot -> label, in SLOTS order
    split: str


def read_tacos(root: str | os.PathLike, seed: int = 0) -> list[Interval]:
    """Every annotated interval under ``root`` (see the module docstring for the layout)."""
    root = Path(root)
    text_dir = root / "alignments-text"
    if not text_dir.is_dir():
        raise LrcnError(f"{root}: not a TACoS folder (no alignments-text/)")
    files = sorted(text_dir.glob("*.aligned.tsv"))
    if not files:
        raise LrcnError(f"{text_dir}: no *.aligned.tsv files")
    video_ids = [f.name.removesuffix(".aligned.tsv") for f in files]
    split_of = _splits(root, video_ids, seed)
    intervals: list[Interval] = []
    for video_id, path in zip(video_ids, files):
        video = _video_path(root, video_id)
        intervals.extend(_read_aligned(path, video, split_of[video_id]))
    return intervals


def _video_path(root: Path, video_id: str) -> Path:
    for ext in VIDEO_EXTENSIONS:
        if (root / "videos" / f"{video_id}{ext}").is_file():
            return root / "videos" / f"{video_id}{ext}"
    raise LrcnError(f"{root / 'videos'}: no video file for {_quote(video_id)} ({', '.join(VIDEO_EXTENSIONS)})")


def _read_aligned(path: Path, video: Path, split: str) -> list[Interval]:
    out = []
    rows = csv.reader(io.StringIO(read_text(path), newline=""), delimiter="\t", quoting=csv.QUOTE_NONE)
    n = 0
    try:
        for n, row in enumerate(rows, start=1):
            if not any(cell.strip() for cell in row):
                continue
            where = f"{path}:{n}"
            if len(row) < 7:
                raise LrcnError(f"{where}: expected start, end, activity, tool, object, location and sentences; got {len(row)} columns")
            try:
                start, end = int(row[0]), int(row[1])
            except ValueError:
                raise LrcnError(f"{where}: start/end frames must be integers, got {_quote(row[0])}, {_quote(row[1])}") from None
            if start < 0 or end < start:
                raise LrcnError(f"{where}: bad frame range {start}-{end}")
            sentences = [s.strip() for s in row[6:] if s.strip()]
            if not sentences:
                raise LrcnError(f"{where}: no sentence")
            out.append(Interval(video, start, end, sentences, _sr(row[2:6], where), split))
    except csv.Error as e:  # e.g. a field over csv's limit of 131072 characters
        raise LrcnError(f"{path}:{n + 1}: not a tab-separated row ({e})") from None
    return out


def _sr(cells: list[str], where: str) -> dict[str, str] | None:
    activity, tool, obj, location = (c.strip() for c in cells)
    if not any((activity, tool, obj, location)):
        return None
    places = [p.strip() for p in location.split(",")]
    if not all((activity, tool, obj, location)) or len(places) > 2 or not all(places):
        raise LrcnError(f"{where}: incomplete SR <activity, tool, object, source,target>: {[_short(c) for c in cells]!r}")
    source, target = places[0], places[-1]
    return dict(zip(SLOTS, (activity, tool, obj, source, target)))


def _splits(root: Path, video_ids: list[str], seed: int) -> dict[str, str]:
    split_dir = root / "splits"
    if not split_dir.is_dir():
        ids = sorted(video_ids)
        random.Random(seed).shuffle(ids)
        n_val = n_test = max(1, len(ids) // 10) if len(ids) >= 3 else 0
        return {v: ("test" if i < n_test else "val" if i < n_test + n_val else "train") for i, v in enumerate(ids)}
    split_of: dict[str, str] = {}
    for split in SPLITS:
        path = split_dir / f"{split}.txt"
        if not path.is_file():
            raise LrcnError(f"{split_dir}: missing {split}.txt")
        for line in read_text(path).splitlines():
            if line.strip():
                split_of[line.strip()] = split
    missing = sorted(set(video_ids) - set(split_of))
    if missing:
        raise LrcnError(f"{split_dir}: video(s) in no split: {', '.join(map(_quote, missing[:5]))}")
    return split_of


def _short(text: str, limit: int = 60) -> str:
    """``text`` cut to ``limit`` characters for an error message (a cell may be megabytes long)."""
    return text if len(text) <= limit else text[:limit] + "..."


def _quote(text: str) -> str:
    """``text`` quoted (a line break in it shows as an escape) and cut short, for an error message."""
    return repr(_short(text))
