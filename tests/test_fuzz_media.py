"""Mutated real media through the video and image decoders (slow set: ``pytest -m slow -s tests/test_fuzz_media.py``).

Small real files are made by the project's own writer (``write_video``: AVI, MP4, MKV with MPEG-4 Part 2,
MP4 with H.264, WebM with VP9) and by Pillow (baseline JPEG with EXIF, progressive JPEG, PNG, palette PNG
with transparency, GIF, WebP). Each gets seeded mutants: byte flips (anywhere, or in the header), truncation
at a random point, the header of another format spliced over or in front of it, a chunk repeated, a region
zeroed, or two of these. Each mutant goes through ``read_video`` / ``load_image`` in a child process with a
time limit per case, so a segfault or a hang in FFmpeg or Pillow is caught and named, not fatal to the run.

Property: frames (an image) or LrcnError whose message is one line naming the file. The tally is printed.
"""
from __future__ import annotations

import json
import os
import random
import select
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from lrcn.data.video import write_video

pytestmark = pytest.mark.slow

TIME_LIMIT = 10.0  # seconds per case
MEMORY_LIMIT = 4 << 30  # address space of the child: a huge allocation is a MemoryError, not the OOM killer
VIDEO_MUTANTS = 100  # per video file (5 files)
IMAGE_MUTANTS = 60  # per image file (6 files)
SEED = os.environ.get("LRCN_FUZZ_SEED", "0")  # another seed, other mutants: LRCN_FUZZ_SEED=1 pytest -m slow ...

# The child: decodes one case per line of stdin, answers one JSON line. Its own stdout is moved to stderr
# first, so nothing a decoder prints can corrupt the answers.
WORKER = r"""
import json, os, resource, sys
resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))
answers = os.fdopen(os.dup(1), "w")
os.dup2(2, 1)
from lrcn.data.images import load_image
from lrcn.data.video import read_video
from lrcn.errors import LrcnError
answers.write("ready\n"); answers.flush()
for line in sys.stdin:
    case = json.loads(line)
    size = tuple(case["size"]) if case["size"] else None
    try:
        if case["kind"] == "selftest-crash":
            os.abort()
        if case["kind"] == "selftest-hang":
            import time; time.sleep(60)
        if case["kind"] == "video":
            frames = read_video(case["path"], size=size)
            result = {"answer": list(frames.shape), "dtype": str(frames.dtype)}
        else:
            img = load_image(case["path"], size=size)
            result = {"answer": [img.height, img.width, len(img.getbands())], "dtype": img.mode}
    except LrcnError as e:
        result = {"lrcn": str(e)}
    except BaseException as e:
        result = {"other": f"{type(e).__name__}: {str(e)[:200]}"}
    answers.write(json.dumps(result) + "\n"); answers.flush()
""".replace("MEMORY_LIMIT", str(MEMORY_LIMIT))


def _frames(t: int = 12, h: int = 48, w: int = 64) -> np.ndarray:
    y, x = np.mgrid[0:h, 0:w]
    return np.stack([np.stack([(x + 3 * i) * 4 % 256, y * 5 % 256, (x + y + i) * 2 % 256], -1) for i in range(t)]).astype(np.uint8)


def make_originals(folder: Path) -> dict[str, list[Path]]:
    """The real files the mutants come from: {"video": [...], "image": [...]}."""
    folder.mkdir(parents=True, exist_ok=True)
    frames = _frames()
    videos = []
    for name, codec in [("mpeg4.avi", "mpeg4"), ("mpeg4.mp4", "mpeg4"), ("mpeg4.mkv", "mpeg4"), ("h264.mp4", "libx264"),
                        ("vp9.webm", "libvpx-vp9")]:
        write_video(folder / name, frames, codec=codec)
        videos.append(folder / name)
    rgb = Image.fromarray(frames[0])
    exif = rgb.getexif()
    exif[0x0112] = 6  # rotated: exercises the EXIF path of load_image
    rgb.save(folder / "exif.jpg", exif=exif, quality=90)
    rgb.save(folder / "progressive.jpg", progressive=True, quality=80)
    rgb.save(folder / "rgb.png")
    palette = rgb.convert("P", palette=Image.Palette.ADAPTIVE, colors=16)
    palette.save(folder / "palette.png", transparency=0)
    palette.save(folder / "anim.gif", save_all=True, append_images=[palette.rotate(90)], duration=40)
    rgb.save(folder / "lossy.webp", quality=60)
    images = [folder / n for n in ("exif.jpg", "progressive.jpg", "rgb.png", "palette.png", "anim.gif", "lossy.webp")]
    return {"video": videos, "image": images}


MUTATIONS = ["flip", "flip-header", "truncate", "splice-over", "splice-front", "repeat-chunk", "zero-run", "two"]


def mutate(data: bytes, kind: str, rng: random.Random, donors: list[bytes]) -> bytes:
    """``data`` damaged by one ``kind`` of mutation (seeded by ``rng``)."""
    n = len(data)
    if kind == "two":
        first, second = rng.sample(MUTATIONS[:-1], 2)
        return mutate(mutate(data, first, rng, donors), second, rng, donors)
    if kind in ("flip", "flip-header"):
        out = bytearray(data)
        span = min(n, 512) if kind == "flip-header" else n
        for _ in range(rng.randint(1, 16)):
            out[rng.randrange(span)] ^= rng.randint(1, 255)
        return bytes(out)
    if kind == "truncate":
        return data[:rng.randint(1, n - 1)]
    if kind in ("splice-over", "splice-front"):
        donor = rng.choice(donors)
        head = donor[:rng.randint(8, min(len(donor), 512))]
        return head + data[len(head):] if kind == "splice-over" else head + data
    if kind == "repeat-chunk":
        a = rng.randrange(n)
        chunk = data[a:a + rng.randint(1, 4096)]
        b = rng.randrange(n)
        return data[:b] + chunk * rng.randint(2, 50) + data[b:]
    if kind == "zero-run":
        a = rng.randrange(n)
        length = rng.randint(1, max(1, n // 4))
        return data[:a] + bytes(min(length, n - a)) + data[a + length:]
    raise ValueError(kind)


class Worker:
    """A child process decoding cases one by one; restarted after a crash or a hang."""

    def __init__(self, log: Path, time_limit: float = TIME_LIMIT):
        self.log, self.time_limit, self.proc, self.starts = log, time_limit, None, 0

    def start(self) -> None:
        self.starts += 1
        err = open(self.log, "ab")
        self.proc = subprocess.Popen([sys.executable, "-c", WORKER], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=err, env={**os.environ, "PYTHONFAULTHANDLER": "1"})
        err.close()
        assert self._line(120) == b"ready\n", "the decoding child did not start"

    def _line(self, timeout: float) -> bytes | None:
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        return self.proc.stdout.readline() if ready else None

    def decode(self, case: dict) -> tuple[dict, float]:
        """(result, seconds). A result is {"answer"}, {"lrcn"}, {"other"}, {"crash": signal/exit code} or {"hang"}."""
        if self.proc is None or self.proc.poll() is not None:
            self.start()
        t0 = time.monotonic()
        self.proc.stdin.write((json.dumps(case) + "\n").encode())
        self.proc.stdin.flush()
        line = self._line(self.time_limit)
        elapsed = time.monotonic() - t0
        if line is None:  # no answer in time: a hang (or a decoder far too slow); kill it, start afresh
            self.stop()
            return {"hang": f"no answer in {self.time_limit:.0f} s"}, elapsed
        if not line:  # EOF: the child died
            code = self.proc.wait()
            self.proc = None
            return {"crash": f"child exited with {code}" + (f" (signal {-code})" if code < 0 else "")}, elapsed
        return json.loads(line), elapsed

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None


def problem(case: dict, result: dict) -> str | None:
    """Why ``result`` breaks the property, or None."""
    if "answer" in result:
        shape = result["answer"]
        if case["kind"] == "video":
            ok = len(shape) == 4 and shape[0] >= 1 and shape[3] == 3 and result["dtype"] == "uint8"
            ok = ok and (case["size"] is None or shape[1:3] == case["size"])
        else:
            ok = shape[2] == 3 and result["dtype"] == "RGB" and (case["size"] is None or shape[:2] == case["size"])
        return None if ok else f"malformed answer {result}"
    if "lrcn" in result:
        msg = result["lrcn"]
        if msg.splitlines() != [msg] or case["path"] not in msg:
            return f"LrcnError not one line naming the file: {msg!r}"
        return None
    return next(f"{k}: {v}" for k, v in result.items())


@pytest.mark.parametrize("kind", ["video", "image"])
def test_mutated_media_decode_or_raise_lrcnerror(tmp_path, kind):
    originals = make_originals(tmp_path / "originals")
    donors = [p.read_bytes() for paths in originals.values() for p in paths]
    per_file = VIDEO_MUTANTS if kind == "video" else IMAGE_MUTANTS
    cases = []
    for source in originals[kind]:
        data = source.read_bytes()
        for i in range(per_file):
            mutation = MUTATIONS[i % len(MUTATIONS)]
            rng = random.Random(f"{SEED}/{source.name}/{i}")
            path = tmp_path / "mutants" / f"{source.stem}-{i:03d}-{mutation}{source.suffix}"
            path.parent.mkdir(exist_ok=True)
            path.write_bytes(mutate(data, mutation, rng, [d for d in donors if d != data]))
            cases.append({"kind": kind, "path": str(path), "size": [32, 40] if i % 3 == 2 else None,
                          "mutation": mutation, "source": source.name})

    worker = Worker(tmp_path / "child-stderr.log")
    tally, failures, slowest = Counter(), [], (0.0, "")
    t0 = time.monotonic()
    try:
        for case in cases:
            result, seconds = worker.decode({k: case[k] for k in ("kind", "path", "size")})
            slowest = max(slowest, (seconds, Path(case["path"]).name))
            why = problem(case, result)
            tally["tried"] += 1
            tally[next(iter(result))] += 1
            if why:
                failures.append(f"{Path(case['path']).name} ({case['mutation']} of {case['source']}, size={case['size']}): {why}")
    finally:
        worker.stop()
    wall = time.monotonic() - t0
    print(f"\n[fuzz-media] {kind} ({'read_video' if kind == 'video' else 'load_image'}, seed {SEED}): {tally['tried']} cases tried, "
          f"{tally['tried'] - len(failures)} clean ({tally['answer']} decoded, {tally['lrcn']} LrcnError), "
          f"{tally['other']} other exceptions, {tally['crash']} crashes, {tally['hang']} hangs; "
          f"slowest case {slowest[0]:.2f} s ({slowest[1]}); {wall:.1f} s in all, child started {worker.starts} time(s)")
    for line in failures:
        print(f"[fuzz-media]   {line}")
    if failures:
        print(f"[fuzz-media]   mutants kept in {tmp_path / 'mutants'}; child stderr in {tmp_path / 'child-stderr.log'}")
    assert not failures, f"{len(failures)} of {tally['tried']} mutated {kind} files broke the property:\n" + "\n".join(failures[:20])


def test_the_harness_reports_a_crash_and_a_hang_and_goes_on(tmp_path):
    """A child killed by a signal or silent past the limit is a named failure; the next case still runs."""
    still = tmp_path / "still.png"
    Image.new("RGB", (4, 4)).save(still)
    worker = Worker(tmp_path / "child-stderr.log", time_limit=2)
    try:
        crash, _ = worker.decode({"kind": "selftest-crash", "path": "", "size": None})
        hang, seconds = worker.decode({"kind": "selftest-hang", "path": "", "size": None})
        fine, _ = worker.decode({"kind": "image", "path": str(still), "size": None})
    finally:
        worker.stop()
    assert crash == {"crash": "child exited with -6 (signal 6)"}
    assert "hang" in hang and 2 <= seconds < 10
    assert fine == {"answer": [4, 4, 3], "dtype": "RGB"} and worker.starts == 3
