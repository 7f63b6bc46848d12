"""Inputs that would hang a reader, never end, or fill the memory, written by the tests themselves (small files)."""
from __future__ import annotations

import os
import struct
import zlib
from pathlib import Path

import av
import numpy as np

from lrcn.data.video import write_video


def fifo(path: Path) -> Path:
    """A named pipe: opening it blocks until a writer comes."""
    os.mkfifo(path)
    return path


def lying_header(path: Path, frames: int = 18_000_000, fps: int = 1000) -> Path:
    """An AVI of 20 real frames whose header claims ``frames`` at ``fps`` (5 hours at 1,000 fps by default)."""
    write_video(path, np.random.default_rng(0).integers(0, 255, (20, 32, 32, 3), dtype=np.uint8), fps=fps)
    data = bytearray(path.read_bytes())
    struct.pack_into("<I", data, data.index(b"avih") + 8 + 16, frames)  # dwTotalFrames
    struct.pack_into("<I", data, data.index(b"strh") + 8 + 32, frames)  # the video stream's dwLength
    path.write_bytes(bytes(data))
    return path


def long_video(path: Path, frames: int = 100_000, side: int = 16) -> Path:
    """A real ``frames``-frame video, cheap to make: tiny frames, 1,000 fps, a few changing pixels."""
    with av.open(str(path), "w") as c:
        s = c.add_stream("mpeg4", rate=1000)
        s.width = s.height = side
        s.pix_fmt = "yuv420p"
        frame = np.zeros((side, side, 3), np.uint8)
        for t in range(frames):
            frame[0, t % side] = t % 251
            c.mux(s.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        c.mux(s.encode())
    return path


def audio_only(path: Path) -> Path:
    """An MP4 holding one AAC audio stream and no video."""
    with av.open(str(path), "w") as c:
        s = c.add_stream("aac", rate=16000)
        for i in range(10):
            frame = av.AudioFrame.from_ndarray(np.zeros((2, 1024), np.float32), format="fltp", layout="stereo")
            frame.sample_rate, frame.pts = 16000, i * 1024
            c.mux(s.encode(frame))
        c.mux(s.encode(None))
    return path


def one_pixel(path: Path, frames: int = 5) -> Path:
    """A 1x1 video (raw RGB in AVI: MPEG-4 needs even sizes)."""
    with av.open(str(path), "w") as c:
        s = c.add_stream("rawvideo", rate=25)
        s.width = s.height = 1
        s.pix_fmt = "rgb24"
        for _ in range(frames):
            c.mux(s.encode(av.VideoFrame.from_ndarray(np.full((1, 1, 3), 200, np.uint8), format="rgb24")))
        c.mux(s.encode())
    return path


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png_bomb(path: Path, side: int = 10_000) -> Path:
    """A valid grey PNG of side x side pixels (100 Mpx by default), all zero: ~100 KB that inflate to 100 MB (300 MB
    as RGB)."""
    z = zlib.compressobj(9)
    row = b"\0" * (side + 1)  # filter byte + pixels
    idat = b"".join(z.compress(row) for _ in range(side)) + z.flush()
    header = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", idat) + _chunk(b"IEND", b""))
    return path


def jpeg_bomb(path: Path, side: int = 65_000) -> Path:
    """A small JPEG whose frame header claims side x side pixels (4 Gpx by default)."""
    from PIL import Image

    Image.new("RGB", (16, 16), (90, 120, 200)).save(path, "JPEG")
    data = bytearray(path.read_bytes())
    sof = data.index(b"\xff\xc0")  # baseline frame header: length (2), precision (1), height (2), width (2)
    struct.pack_into(">HH", data, sof + 5, side, side)
    path.write_bytes(bytes(data))
    return path
