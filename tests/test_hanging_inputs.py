"""Inputs that would hang, never end or fill the memory, given among good ones to the real CLI: each gets one clear
line, within a bounded time and memory, and the good inputs are still answered.

The default set runs one batch per task on untrained run folders (prediction needs no trained weights to read its
inputs); the slow set times each input alone, with the 100,000-frame video, and prints the table of the report.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import bad_media
from activity_data import moving_square
from lrcn.data.video import write_video
from tiny_runs import untrained_run

HANG_GUARD_S = 300  # a hang fails the test here instead of stalling the suite

VIDEOS = {  # name: (how to make it, what its answer says)
    "clip.mp4": (bad_media.fifo, "a FIFO, not a regular file"),
    "/dev/zero": (None, "a device, not a regular file"),
    "/dev/urandom": (None, "a device, not a regular file"),
    "hours_at_1000fps.avi": (bad_media.lying_header, "longer than 30000 frames (its header says 18000000"),
    "audio_only.mp4": (bad_media.audio_only, "not a video (no video stream)"),
    "one_pixel.avi": (bad_media.one_pixel, None),  # a 1x1 video is a video: it gets a label
}
IMAGES = {
    "photo.jpg": (bad_media.fifo, "a FIFO, not a regular file"),
    "/dev/zero": (None, "a device, not a regular file"),
    "/dev/urandom": (None, "a device, not a regular file"),
    "bomb.png": (bad_media.png_bomb, "image too large (10000x10000 = 100000000 pixels"),
    "bomb.jpg": (bad_media.jpeg_bomb, "image too large"),
}


def make_inputs(kinds: dict, folder: Path) -> list[tuple[str, str | None]]:
    """(path, expected error or None) for each kind, the files made in ``folder``."""
    folder.mkdir(exist_ok=True)
    out = []
    for name, (make, expected) in kinds.items():
        path = name if make is None else str(make(folder / name))
        out.append((path, expected))
    return out


def good_videos(folder: Path) -> list[str]:
    rng = np.random.default_rng(0)
    paths = [folder / "good_left.avi", folder / "good_right.avi"]
    for direction, p in zip((-1, 1), paths):
        write_video(p, moving_square(direction, rng))
    return list(map(str, paths))


def good_images(folder: Path) -> list[str]:
    paths = [folder / "good_a.jpg", folder / "good_b.png"]
    for colour, p in zip(((200, 40, 40), (40, 200, 40)), paths):
        Image.new("RGB", (80, 60), colour).save(p)
    return list(map(str, paths))


# lrcn runs under this small Python, which reports its child's peak memory: a child's ru_maxrss starts from the
# high-water mark of the address space it was forked from (the kernel carries it across exec), so measured straight
# from pytest's child it would be pytest's own peak (~2 GB late in the suite) whatever lrcn used.
WAIT = ("import os, sys; pid = os.spawnv(os.P_NOWAIT, sys.executable, [sys.executable, '-m', 'lrcn', *sys.argv[2:]]); "
        "_, status, usage = os.wait4(pid, 0); open(sys.argv[1], 'w').write(str(usage.ru_maxrss)); "
        "sys.exit(os.waitstatus_to_exitcode(status) % 256)")


def measured(*args) -> tuple[subprocess.CompletedProcess, float, float]:
    """``lrcn ARGS`` in a child: (its result, wall seconds, its own peak memory in MB, from wait4)."""
    t0 = time.monotonic()
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err, \
            tempfile.NamedTemporaryFile("r") as peak:
        child = subprocess.Popen([sys.executable, "-c", WAIT, peak.name, *map(str, args)], stdout=out, stderr=err,
                                 text=True, env={**os.environ, "OMP_NUM_THREADS": "1"}, start_new_session=True)
        guard = threading.Timer(HANG_GUARD_S, os.killpg, (child.pid, signal.SIGKILL))
        guard.start()
        child.wait()
        guard.cancel()
        assert child.returncode != -signal.SIGKILL, f"lrcn {args}: still running after {HANG_GUARD_S} s (a hang)"
        out.seek(0), err.seek(0)
        result = subprocess.CompletedProcess(child.args, child.returncode, out.read(), err.read())
        rss_kb = int(peak.read())
    return result, time.monotonic() - t0, rss_kb / 1024


def check_answers(result, inputs: list[tuple[str, str | None]], answer_key: str) -> list[dict]:
    answers = [json.loads(line) for line in result.stdout.splitlines()]
    assert [a["path"] for a in answers] == [p for p, _ in inputs]
    for answer, (path, expected) in zip(answers, inputs):
        if expected is None:
            assert answer_key in answer, answer
        else:
            assert expected in answer["error"] and "\n" not in answer["error"], answer
    assert result.returncode == 1 and "Traceback" not in result.stderr
    return answers


@pytest.mark.parametrize("task", ["activity", pytest.param("caption", marks=pytest.mark.slow)])
def test_inputs_that_hang_or_never_end_get_one_line_each_among_good_ones(task, tmp_path):
    run = untrained_run(task, tmp_path)
    if task == "activity":
        good, bad, command, key = good_videos(tmp_path), make_inputs(VIDEOS, tmp_path / "bad"), "classify", "label"
    else:
        good, bad, command, key = good_images(tmp_path), make_inputs(IMAGES, tmp_path / "bad"), "caption", "caption"
    inputs = [(good[0], None), *bad, (good[1], None)]
    result, seconds, rss = measured(command, run, *[p for p, _ in inputs], "--json")
    for answer in check_answers(result, inputs, key):
        print(f"{answer['path']}: {answer.get('error') or answer[key]}")
    print(f"{task}: {len(inputs)} inputs in {seconds:.1f} s, peak {rss:.0f} MB")
    # A bound, not a speed target: reading any of these must not decode gigapixels or hours of frames.
    assert rss < 2000


@pytest.mark.slow
def test_a_100000_frame_video_is_refused_by_its_header_before_a_frame_is_decoded(tmp_path):
    run = untrained_run("activity", tmp_path)
    good = good_videos(tmp_path)
    long_avi = bad_media.long_video(tmp_path / "long.avi")
    long_mkv = bad_media.long_video(tmp_path / "long.mkv")  # Matroska stores no frame count: duration x rate
    rows = []
    baseline, t_base, rss_base = measured("classify", run, good[0], "--json")
    assert baseline.returncode == 0
    rows.append(("a good video alone (baseline)", json.loads(baseline.stdout)["label"], t_base, rss_base))
    for path, expected in [*make_inputs(VIDEOS, tmp_path / "bad"), (str(long_avi), "its header says 100000"),
                           (str(long_mkv), "its header says 100000")]:
        result, seconds, rss = measured("classify", run, path, good[0], "--json")
        answers = check_answers(result, [(path, expected), (good[0], None)], "label") if expected else \
            [json.loads(line) for line in result.stdout.splitlines()]
        rows.append((path, answers[0].get("error") or answers[0]["label"], seconds, rss))
        assert rss < rss_base + 500, path  # nothing held beyond what one good video takes
    for name, answer, seconds, rss in rows:
        print(f"| {Path(name).name} | {answer} | {seconds:.1f} | {rss:.0f} |")
