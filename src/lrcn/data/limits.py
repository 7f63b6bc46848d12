"""The budget of one input file: how many bytes, frames and pixels, and how long its decoding may take.

Beyond it, the reader raises one clear LrcnError naming the file and the limit (never a hang, never memory that
grows without bound); the other inputs of the same call still run. A video longer than ``max_frames`` is refused,
not cut: its label would silently be the label of its beginning.

The defaults come from the environment (``LRCN_MAX_BYTES``, ``LRCN_MAX_FRAMES``, ``LRCN_MAX_PIXELS``,
``LRCN_MAX_SECONDS``, ``LRCN_MAX_MEMORY``); a caller with its own budget (the HTTP server) runs under
``with using(Limits(...)):``.
"""
from __future__ import annotations

import contextlib
import os
from contextvars import ContextVar
from dataclasses import dataclass, fields
from typing import Iterator

from lrcn.errors import LrcnError


@dataclass(frozen=True)
class Limits:
    max_bytes: int = 4 * 1024**3  # a file larger than this is not read
    max_frames: int = 30_000  # 20 min at 25 fps; UCF101's longest video has 1,776
    max_pixels: int = 89_478_485  # per image or frame: Pillow's decompression-bomb limit
    max_seconds: float = 600.0  # decoding one file
    # A video's decoded frames, held at once (what a reader allocates; the frame and pixel budgets alone would allow
    # 30,000 frames of 89 Mpx). 4 GiB: UCF101's longest video (1,776 frames of 320x240) 10 times over; optical flow
    # decodes at full size, so 62 s of 720p or 28 s of 1080p at 25 fps.
    max_memory: int = 4 * 1024**3


def from_env() -> Limits:
    values = {}
    for f in fields(Limits):
        text = os.environ.get(f"LRCN_{f.name.upper()}")
        if text is not None:
            try:
                values[f.name] = type(f.default)(text)
            except ValueError:
                raise LrcnError(f"LRCN_{f.name.upper()}={text}: not a number") from None
    return Limits(**values)


_current: ContextVar[Limits | None] = ContextVar("lrcn_limits", default=None)


def limits() -> Limits:
    """The budget in force: the innermost ``using``, else the environment's."""
    return _current.get() or from_env()


@contextlib.contextmanager
def using(budget: Limits) -> Iterator[Limits]:
    token = _current.set(budget)
    try:
        yield budget
    finally:
        _current.reset(token)
