"""Video files: decode to frames, encode frames, and choose which frames form a clip.

Frames are uint8 arrays of shape (T, H, W, 3), RGB. Decoding goes through PyAV (FFmpeg), so any
container and codec FFmpeg reads works: avi, mp4, mkv, webm, mov.
"""
from __future__ import annotations

import errno
import io
import os
import stat
import time
from pathlib import Path

import numpy as np

from lrcn.extras import module
from lrcn.data.limits import limits
from lrcn.errors import LrcnError
from lrcn.files import human


def check_readable(path: str | os.PathLike) -> Path:
    """Raise LrcnError naming ``path`` if it cannot be opened as a regular, non-empty file within the byte budget
    (a FIFO or a device such as /dev/zero would block or never end: refused before it is opened)."""
    path = Path(path)
    try:
        st = path.stat()
    except OSError as e:
        if e.errno == errno.ELOOP:
            raise LrcnError(f"{path}: symlink loop") from None
        raise LrcnError(f"{path}: no such file") from None
    if stat.S_ISDIR(st.st_mode):
        raise LrcnError(f"{path}: is a directory, not a file")
    if not stat.S_ISREG(st.st_mode):
        kind = "a FIFO" if stat.S_ISFIFO(st.st_mode) else "a device" if stat.S_ISCHR(st.st_mode) or \
            stat.S_ISBLK(st.st_mode) else "a socket" if stat.S_ISSOCK(st.st_mode) else "not a regular file"
        raise LrcnError(f"{path}: {kind}, not a regular file")
    if st.st_size == 0:
        raise LrcnError(f"{path}: empty file (0 bytes)")
    check_bytes(path, st.st_size)
    if not os.access(path, os.R_OK):
        raise LrcnError(f"{path}: permission denied")
    return path


def check_bytes(label, size: int) -> None:
    budget = limits().max_bytes
    if size > budget:
        raise LrcnError(f"{label}: {size} bytes, above the budget of {budget} (LRCN_MAX_BYTES)")


def read_video(src: str | os.PathLike | bytes, size: tuple[int, int] | None = None, max_frames: int | None = None,
               name: str | None = None) -> np.ndarray:
    """Decode every frame of a video file (or of its bytes): (T, H, W, 3) uint8 RGB.

    ``size=(H, W)`` resizes while decoding (FFmpeg's swscale; cheaper than resizing afterwards).
    Frames whose size changes midway are resized to the first frame's size. A truncated file gives
    the frames decoded before the damage; a file with no decodable frame raises LrcnError naming
    the file (or ``name``, for bytes). The budget (:mod:`lrcn.data.limits`) is checked against the header
    before a frame is decoded, then as frames come: frames, pixels per frame, memory the frames take, seconds.
    """
    av = module("av")
    opened, label = _open_source(src, name)
    budget, start = limits(), time.monotonic()
    frames: list[np.ndarray] = []
    try:
        with av.open(opened, timeout=budget.max_seconds) as container:
            if not container.streams.video:
                raise LrcnError(f"{label}: not a video (no video stream)")
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            cc = stream.codec_context
            if cc is None:  # a stream whose codec FFmpeg does not know (a damaged header)
                raise LrcnError(f"{label}: not a decodable video (no decoder for its video stream)")
            _check_frame(label, cc.width, cc.height, budget)
            if max_frames is None:
                claimed = header_frames(container, stream)
                _check_length(label, claimed, "its header says ", budget)
                _check_memory(label, claimed, size or (cc.height, cc.width), "its header says ", budget)
            try:
                for packet in container.demux(stream):
                    _check_time(label, start, budget)
                    for frame in packet.decode():
                        _check_frame(label, frame.width, frame.height, budget)
                        if size is None:
                            size = (frame.height, frame.width)
                        frames.append(frame.to_ndarray(format="rgb24", height=size[0], width=size[1]))
                        if max_frames is not None and len(frames) >= max_frames:
                            return np.stack(frames)
                        _check_length(label, len(frames), "", budget)
                        _check_memory(label, len(frames), size, "", budget)
            except (av.error.FFmpegError, ValueError):
                if not frames:
                    raise
                # Truncated or corrupt past this point: keep what decoded.
    except LrcnError:
        raise
    except (av.error.FFmpegError, ValueError, OSError) as e:
        raise LrcnError(f"{label}: not a decodable video ({type(e).__name__}: {str(e).splitlines()[0][:120]})") from None
    if not frames:
        raise LrcnError(f"{label}: not a video (no decodable frame)")
    return np.stack(frames)


def header_frames(container, stream) -> int:
    """The frame count a video's header claims (0 if it claims none): its count, else its duration x frame rate
    (Matroska and WebM store no count)."""
    if stream.frames:
        return stream.frames
    rate = stream.average_rate or stream.guessed_rate
    if stream.duration is not None and stream.time_base is not None:
        seconds = float(stream.duration * stream.time_base)
    elif container.duration is not None:
        seconds = container.duration / module("av").time_base
    else:
        return 0
    return int(seconds * float(rate)) if rate else 0


def _check_frame(label: str, width: int, height: int, budget) -> None:
    if width * height > budget.max_pixels:
        raise LrcnError(f"{label}: {width}x{height} frames, above the budget of {budget.max_pixels} pixels "
                        "(LRCN_MAX_PIXELS)")


def _check_length(label: str, frames: int, source: str, budget) -> None:
    if frames > budget.max_frames:
        raise LrcnError(f"{label}: longer than {budget.max_frames} frames ({source}{frames}; LRCN_MAX_FRAMES)")


def _check_memory(label: str, frames: int, size: tuple[int, int], source: str, budget) -> None:
    if frames * size[0] * size[1] * 3 > budget.max_memory:
        raise LrcnError(f"{label}: its frames take more than {human(budget.max_memory)} decoded ({source}{frames} of "
                        f"{size[1]}x{size[0]}; LRCN_MAX_MEMORY)")


def _check_time(label: str, start: float, budget) -> None:
    if time.monotonic() - start > budget.max_seconds:
        raise LrcnError(f"{label}: decoding took more than {budget.max_seconds:g} s (LRCN_MAX_SECONDS)")


def _open_source(src: str | os.PathLike | bytes, name: str | None) -> tuple[str | io.BytesIO, str]:
    """What PyAV opens, and the name errors give: a checked path, or bytes in memory."""
    if isinstance(src, (bytes, bytearray, memoryview)):
        label = name or "<bytes>"
        if not len(src):
            raise LrcnError(f"{label}: empty input (0 bytes)")
        check_bytes(label, len(src))
        return io.BytesIO(src), label
    path = check_readable(src)
    return str(path), str(path)


def resize_frames(frames: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """(T, h, w, 3) uint8 RGB -> (T, H, W, 3) for ``size=(H, W)``, with the scaler decoding uses (swscale)."""
    if frames.shape[1:3] == tuple(size):
        return frames
    av = module("av")
    return np.stack([av.VideoFrame.from_ndarray(np.ascontiguousarray(f), format="rgb24")
                     .to_ndarray(format="rgb24", height=size[0], width=size[1]) for f in frames])


def write_video(path: str | os.PathLike, frames: np.ndarray, fps: int = 25, codec: str = "mpeg4", quality: int = 3) -> None:
    """Encode (T, H, W, 3) uint8 RGB frames; the container follows the file's extension.

    ``mpeg4`` is MPEG-4 Part 2 (the codec of UCF101's AVI files); ``quality`` is its qscale (1 best, 31 worst).
    Written to a temporary file and renamed, so a crash never leaves a half-written video.
    """
    from lrcn.files import atomic_path

    av = module("av")
    path = Path(path)
    t, h, w, _ = frames.shape
    with atomic_path(path) as tmp:
        with av.open(str(tmp), mode="w", format=_container_format(path)) as container:
            stream = container.add_stream(codec, rate=fps)
            stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
            if codec == "mpeg4":
                stream.codec_context.flags |= av.codec.context.Flags.qscale
                stream.codec_context.global_quality = quality * 118  # FF_QP2LAMBDA: qscale -> lambda
            for frame in frames:
                container.mux(stream.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), format="rgb24")))
            container.mux(stream.encode())


def _container_format(path: Path) -> str | None:
    return {".avi": "avi", ".mp4": "mp4", ".mkv": "matroska", ".webm": "webm", ".mov": "mov"}.get(path.suffix.lower())


def sample_clip_starts(num_frames: int, clip_len: int = 16, stride: int = 8) -> list[int]:
    """Start frames of the test clips: every ``stride`` frames, plus one clip ending at the last frame.

    As in the authors' ``classify_video.py``: clips of 16 frames every 8, the last clip taken from the
    video's final 16 frames. A video shorter than a clip gives one clip starting at 0 (looped, see
    ``clip_indices``).
    """
    if num_frames <= clip_len:
        return [0]
    starts = list(range(0, num_frames - clip_len + 1, stride))
    if starts[-1] != num_frames - clip_len:
        starts.append(num_frames - clip_len)
    return starts


def clip_indices(num_frames: int, start: int, clip_len: int = 16) -> np.ndarray:
    """Frame indices of the clip starting at ``start``: (clip_len,), looping a video shorter than a clip."""
    return (start + np.arange(clip_len)) % num_frames


def even_indices(start: int, end: int, num_frames: int, n: int) -> np.ndarray:
    """``n`` frame indices spread evenly over [start, end] (clipped to the video's ``num_frames``)."""
    end = min(end, num_frames - 1)
    return np.linspace(min(start, end), end, n).round().astype(int)
