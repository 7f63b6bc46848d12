"""The per-file budget: inputs that would hang, never end or fill the memory get one clear line, fast."""
import os
import time

import numpy as np
import pytest

from lrcn.data.images import load_image
from lrcn.data.limits import Limits, from_env, limits, using
from lrcn.data.video import read_video, write_video
from lrcn.errors import LrcnError


@pytest.mark.parametrize("read", [read_video, load_image])
def test_a_fifo_and_devices_are_refused_before_they_are_opened(tmp_path, read):
    fifo = tmp_path / "clip.mp4"
    os.mkfifo(fifo)  # opening it would block until a writer came
    t0 = time.monotonic()
    with pytest.raises(LrcnError, match="clip.mp4: a FIFO, not a regular file"):
        read(fifo)
    for device in ("/dev/zero", "/dev/urandom"):
        with pytest.raises(LrcnError, match=f"{device}: a device, not a regular file"):
            read(device)
    assert time.monotonic() - t0 < 5


def test_a_video_over_the_frame_budget_is_refused_not_cut(tmp_path):
    write_video(tmp_path / "long.avi", np.zeros((40, 16, 16, 3), np.uint8))
    with using(Limits(max_frames=30)), pytest.raises(LrcnError, match="long.avi: longer than 30 frames"):
        read_video(tmp_path / "long.avi")
    assert len(read_video(tmp_path / "long.avi")) == 40


def test_bytes_and_pixels_over_budget(tmp_path):
    write_video(tmp_path / "v.avi", np.zeros((3, 64, 64, 3), np.uint8))
    size = (tmp_path / "v.avi").stat().st_size
    with using(Limits(max_bytes=size - 1)), pytest.raises(LrcnError, match=r"v.avi: \d+ bytes, above the budget"):
        read_video(tmp_path / "v.avi")
    with using(Limits(max_bytes=10)), pytest.raises(LrcnError, match="<bytes>: 1000 bytes, above the budget"):
        read_video(b"x" * 1000)
    with using(Limits(max_pixels=64 * 64 - 1)), pytest.raises(LrcnError, match="64x64 frames, above the budget"):
        read_video(tmp_path / "v.avi")


def test_the_budget_comes_from_the_environment_unless_a_caller_sets_its_own(monkeypatch):
    monkeypatch.setenv("LRCN_MAX_FRAMES", "123")
    assert from_env().max_frames == 123 and limits().max_frames == 123
    with using(Limits(max_frames=7)):
        assert limits().max_frames == 7
    monkeypatch.setenv("LRCN_MAX_SECONDS", "soon")
    with pytest.raises(LrcnError, match="LRCN_MAX_SECONDS=soon: not a number"):
        from_env()
