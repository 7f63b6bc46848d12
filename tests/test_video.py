import os

import numpy as np
import pytest

from lrcn.data.video import clip_indices, read_video, sample_clip_starts, write_video
from lrcn.errors import LrcnError


def _frames(t=20, h=48, w=64):
    """A smooth gradient drifting right by one pixel a frame (noise would not survive lossy coding)."""
    y, x = np.mgrid[0:h, 0:w]
    frames = [np.stack([(x + i) * 3 % 256, y * 4 % 256, np.full_like(x, 128)], -1) for i in range(t)]
    return np.stack(frames).astype(np.uint8)


@pytest.mark.parametrize("ext", [".avi", ".mp4", ".mkv", ".mov"])
def test_write_then_read_roundtrips_frames_in_every_container(tmp_path, ext):
    frames = _frames()
    path = tmp_path / f"v{ext}"
    write_video(path, frames, codec="mpeg4")
    back = read_video(path)
    assert back.shape == frames.shape
    assert np.abs(back.astype(int) - frames).mean() < 12


def test_read_resizes_while_decoding(tmp_path):
    write_video(tmp_path / "v.avi", _frames())
    assert read_video(tmp_path / "v.avi", size=(30, 40)).shape == (20, 30, 40, 3)


def test_truncated_video_gives_the_frames_before_the_damage(tmp_path):
    path = tmp_path / "v.avi"
    write_video(path, (np.random.default_rng(1).random((40, 48, 64, 3)) * 255).astype(np.uint8))
    data = path.read_bytes()
    (tmp_path / "cut.avi").write_bytes(data[: len(data) // 2])
    back = read_video(tmp_path / "cut.avi")
    assert 1 <= len(back) < 40


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda p: p.write_bytes(b""), "empty file"),
        (lambda p: p.write_bytes(b"hello, not a video\n" * 50), "not a"),
        (lambda p: p.write_bytes(np.random.default_rng(0).bytes(5000)), "not a"),
        (lambda p: p.mkdir(), "is a directory"),
        (lambda p: None, "no such file"),
        (lambda p: os.symlink(p, p), "symlink loop"),
    ],
    ids=["zero-byte", "text", "random-bytes", "directory", "missing", "symlink-loop"],
)
def test_bad_input_raises_one_line_naming_the_file(tmp_path, make, message):
    path = tmp_path / "bad.avi"
    make(path)
    with pytest.raises(LrcnError) as e:
        read_video(path)
    assert str(path) in str(e.value) and message in str(e.value) and "\n" not in str(e.value)


@pytest.mark.parametrize(
    "n, expected",
    [(16, [0]), (10, [0]), (24, [0, 8]), (32, [0, 8, 16]), (33, [0, 8, 16, 17]), (17, [0, 1])],
)
def test_clip_starts_every_8_frames_plus_one_ending_at_the_last_frame(n, expected):
    assert sample_clip_starts(n, 16, 8) == expected


def test_clip_indices_loop_a_short_video():
    assert clip_indices(5, 0, 8).tolist() == [0, 1, 2, 3, 4, 0, 1, 2]
