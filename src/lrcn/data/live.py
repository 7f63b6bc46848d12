"""Frames of a live source as they come: a video file (also one still being written), a camera (``/dev/video0``) or
a stream URL FFmpeg opens (``rtsp://``, ``http://``, ...), decoded by PyAV, at the size the CNN reads if asked.

A file modified less than ``idle`` seconds ago is taken to be still being written: it is read as a stream (no
seeking) that waits at its current end for more, and ends once it has stopped growing for ``idle`` seconds. That
works for containers written front to back (AVI, Matroska/WebM, MPEG-TS, fragmented MP4), not for a plain MP4,
whose index is written last. A finished file is read as any file.
"""
from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np

from lrcn.data.video import check_readable
from lrcn.errors import LrcnError
from lrcn.extras import module

log = logging.getLogger(__name__)
# A live source's first frame comes after FFmpeg has probed it: probe little (64 KB, 0.2 s), not 5 MB and 5 s.
LIVE = {"probesize": "65536", "analyzeduration": "200000"}


@dataclass
class Frame:
    index: int  # 0, 1, 2, ... in decoding order
    time: float  # seconds from the source's start (its timestamps; index / rate when it has none)
    image: np.ndarray  # (H, W, 3) uint8 RGB


class GrowingFile:
    """A file still being written, as a read-only stream: ``read`` waits at the end for more, and returns b"" once
    the file has not grown for ``idle`` seconds. No ``seek``: FFmpeg reads it front to back."""

    def __init__(self, path: Path, idle: float, poll: float = 0.05):
        self.file, self.idle, self.poll = open(path, "rb"), idle, poll
        self.last = time.monotonic()

    def read(self, n: int = -1) -> bytes:
        while True:
            data = self.file.read(n)
            if data:
                self.last = time.monotonic()
                return data
            if time.monotonic() - self.last > self.idle:
                return b""
            time.sleep(self.poll)

    def close(self) -> None:
        self.file.close()


def kind_of(source: str) -> str:
    """"url", "camera" or "file"."""
    return "url" if "://" in source else "camera" if source.startswith("/dev/") else "file"


def open_source(source: str, idle: float = 2.0, timeout: float = 10.0):
    """A PyAV container on ``source``, or LrcnError naming it."""
    av, kind = module("av"), kind_of(source)
    try:
        if kind == "url":
            return av.open(source, timeout=(timeout, timeout), options=LIVE)
        if kind == "camera":
            if not os.path.exists(source):
                raise LrcnError(f"{source}: no such camera device")
            return av.open(source, format="v4l2", options=LIVE)
        path = Path(source)
        if path.is_file() and time.time() - path.stat().st_mtime < idle:
            return av.open(GrowingFile(path, idle), options=LIVE)  # still being written (or just written)
        return av.open(str(check_readable(path)))
    except LrcnError:
        raise
    except (av.error.FFmpegError, ValueError, OSError) as e:
        problem = "not a decodable video" if kind == "file" else "cannot open"
        raise LrcnError(f"{source}: {problem} ({type(e).__name__}: {str(e).splitlines()[0][:160]})") from None


def live_frames(source: str, size: tuple[int, int] | None = None, idle: float = 2.0, timeout: float = 10.0
                ) -> Iterator[Frame]:
    """Each frame of ``source`` as soon as it is decoded, resized to ``size=(H, W)`` while decoding if given, until
    the source ends (a damaged tail ends it too, after the frames before the damage)."""
    av = module("av")
    with open_source(source, idle, timeout) as container:
        if not container.streams.video:
            raise LrcnError(f"{source}: not a video (no video stream)")
        stream = container.streams.video[0]
        rate = float(stream.average_rate or stream.guessed_rate or 25)
        index = 0
        try:
            for frame in container.decode(stream):
                h, w = size or (frame.height, frame.width)
                t = frame.time if frame.time is not None else index / rate
                yield Frame(index, float(t), frame.to_ndarray(format="rgb24", height=h, width=w))
                index += 1
        except (av.error.FFmpegError, ValueError) as e:
            if index == 0:
                raise LrcnError(f"{source}: not a decodable video ({type(e).__name__}: "
                                f"{str(e).splitlines()[0][:120]})") from None
            log.warning("%s: decoding stopped after %d frames (%s)", source, index, type(e).__name__)
