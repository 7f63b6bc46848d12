"""A video the browser cannot play, as one it can: the same frames as WebM (VP8), through the core's reader and
writer (``lrcn.data.video``), for the page's player."""
from __future__ import annotations

import tempfile
from pathlib import Path

from lrcn.data.video import read_video, write_video

MAX_SIDE = 480  # the player's size; the model has already read the original


def to_webm(data: bytes, name: str, fps: int = 25) -> bytes:
    h, w = read_video(data, max_frames=1, name=name).shape[1:3]  # the first frame's size, within the request's budget
    scale = min(1.0, MAX_SIDE / max(h, w))
    size = (max(2, round(h * scale / 2) * 2), max(2, round(w * scale / 2) * 2))  # VP8 (yuv420p): even sides
    frames = read_video(data, size=size, name=name)  # (T, h', w', 3): decoded at the player's size, never larger
    with tempfile.TemporaryDirectory(prefix="lrcn-preview-") as tmp:
        path = Path(tmp) / "preview.webm"
        write_video(path, frames, fps=fps, codec="libvpx")
        return path.read_bytes()
