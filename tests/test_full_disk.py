"""A full disk and a read-only place: training, the feature cache, evaluation and export say so in one line naming
the file and what was short, exit 1, leave nothing half-written (no temporary file either), and --resume continues
once space is freed. The small disks are tmpfs mounts the tests make (as root; skipped where mounting is refused)."""
from __future__ import annotations

import errno
import os
import subprocess
import uuid
from pathlib import Path
from unittest import mock

import pytest

from cli import lrcn
from lrcn.data.synthetic.scenes import write_scenes
from lrcn.errors import WriteError
from lrcn.files import atomic_path
from lrcn.tools.damage import broken_files, differences, temporaries
from tiny_runs import untrained_run

CAPTION = ["--image-size", "56", "--min-count", "1", "--images-per-batch", "4", "--embed-dim", "64", "--hidden", "64",
           "--image-dim", "64", "--epochs", "3", "--workers", "0"]


@pytest.fixture
def disk(tmp_path):
    """``disk(size, ro=False)``: a fresh tmpfs of ``size`` (e.g. "600k") mounted under tmp_path; ``disk.resize``."""
    mounted = []

    def mount(size: str, ro: bool = False):
        where = tmp_path / f"disk-{uuid.uuid4().hex[:6]}"
        where.mkdir()
        opts = f"size={size}" + (",ro" if ro else "")
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", opts, "tmpfs", str(where)], capture_output=True, text=True)
        if done.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here ({done.stderr.strip() or 'mount refused'}): needs root in a "
                        "namespace that may mount")
        mounted.append(where)
        return where

    mount.resize = lambda where, size: subprocess.run(["mount", "-o", f"remount,size={size}", str(where)], check=True)
    yield mount
    for where in mounted:
        subprocess.run(["umount", "-l", str(where)], capture_output=True)


def error_line(out) -> str:
    lines = [line for line in out.stderr.splitlines() if line.startswith("error:")]
    assert out.returncode == 1 and len(lines) == 1 and "Traceback" not in out.stderr, out.stderr[-2000:]
    return lines[0]


def test_a_write_onto_a_full_disk_is_one_line_with_free_and_needed_bytes_and_no_temporary(disk):
    small = disk("64k")
    with pytest.raises(WriteError) as err:
        with atomic_path(small / "big.bin", needed=1_000_000) as tmp:
            tmp.write_bytes(b"x" * 1_000_000)
    assert str(err.value).startswith(f"{small / 'big.bin'}: no space left on device (")
    assert "free of 65.5 KB" in str(err.value) and "1.0 MB needed" in str(err.value)
    assert list(small.iterdir()) == []


def test_export_onto_a_full_disk_and_training_into_a_read_only_place_are_one_line_each(disk, tmp_path):
    from lrcn.bundle import export
    from lrcn.runs import start
    from lrcn.tasks.caption.config import CaptionConfig

    run = untrained_run("caption", tmp_path)
    small = disk("64k")
    with pytest.raises(WriteError, match=rf"^{small / 'out'}: no space left on device \(.* needed\); free some space"):
        export(run, small / "out")
    assert list(small.iterdir()) == []  # the half-made export folder went with the error
    read_only = disk("1m", ro=True)
    with pytest.raises(WriteError) as err:
        start(read_only / "run", "caption", CaptionConfig())
    assert str(err.value) == f"{read_only / 'run' / '.lock'}: cannot write: {read_only} is a read-only file system; " \
                             "write elsewhere"
    # the command line says it in one line (the slow tests below run the CLI on a full disk)


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="no /dev/full (the kernel's always-full device)")
def test_a_write_that_finds_no_space_is_one_line_and_leaves_no_temporary_without_a_tmpfs(tmp_path):
    # the kernel's own ENOSPC, where no tmpfs can be mounted: the bytes go to /dev/full, the error to the target
    target = tmp_path / "big.bin"
    with pytest.raises(WriteError) as err:
        with atomic_path(target, needed=1_000_000), open("/dev/full", "wb", buffering=0) as full:
            full.write(b"x" * 1000)
    assert str(err.value).startswith(f"{target}: no space left on device (") and "1.0 MB needed" in str(err.value)
    assert list(tmp_path.iterdir()) == []


def test_a_write_to_a_read_only_place_is_one_line_and_an_export_there_leaves_nothing(tmp_path):
    from lrcn.bundle import export

    with pytest.raises(WriteError, match=r"is a read-only file system; write elsewhere$"):
        with atomic_path(tmp_path / "a.json"):
            raise OSError(errno.EROFS, "Read-only file system")
    assert list(tmp_path.iterdir()) == []
    run = untrained_run("caption", tmp_path)
    out = tmp_path / "out"
    real_replace = os.replace

    def read_only(src, dst):  # the folder is written, then the file system refuses its rename into place
        if Path(dst) == out:
            raise OSError(errno.EROFS, "Read-only file system")
        return real_replace(src, dst)

    with mock.patch("os.replace", read_only), pytest.raises(WriteError, match=rf"^{out}: cannot write: .* read-only"):
        export(run, out)
    assert not out.exists() and sorted(p.name for p in tmp_path.iterdir()) == [run.name]


@pytest.fixture(scope="module")
def scenes(tmp_path_factory):
    return write_scenes(tmp_path_factory.mktemp("scenes") / "scenes", seed=0, num_train=16, num_val=4, num_test=4,
                        image_size=64, workers=1)


@pytest.mark.slow
def test_training_that_fills_the_disk_stops_with_one_line_and_resumes_to_the_same_weights(disk, scenes, tmp_path):
    train = ["train", "caption", "--data", scenes, "--cache", tmp_path / "cache", *CAPTION]
    lrcn(*train, "--out", tmp_path / "ref")
    small = disk("25m")  # room for best.ckpt and last.ckpt (10.3 MB each) once, not for a new best beside them
    line = error_line(lrcn(*train, "--out", small / "run", check=False))
    print(line)
    assert f"{small / 'run' / 'checkpoints'}/" in line and "no space left on device" in line and "needed" in line
    assert temporaries(small) == [] and broken_files(small) == []
    disk.resize(small, "64m")
    lrcn(*train, "--out", small / "run", "--resume")
    assert differences(tmp_path / "ref", small / "run") == []
    read_only = disk("1m", ro=True)
    line = error_line(lrcn(*train, "--out", read_only / "run", check=False))
    print(line)
    assert line == f"error: {read_only / 'run' / '.lock'}: cannot write: {read_only} is a read-only file system; " \
                   "write elsewhere; then continue the run with --resume"


@pytest.mark.slow
def test_a_feature_cache_and_an_evaluation_on_a_full_disk_stop_with_one_line_and_go_on_once_freed(disk, scenes):
    small = disk("256k")
    run, cache = small / "run", small / "cache"
    train = ["train", "caption", "--data", scenes, "--out", run, "--cache", cache, *CAPTION]
    line = error_line(lrcn(*train, check=False))
    print(line)
    assert f"{cache}/" in line and ".npy: no space left on device" in line and "needed" in line
    assert temporaries(small) == [] and broken_files(small) == []
    disk.resize(small, "64m")
    lrcn(*train, "--resume")
    evaluate = ["eval", "caption", run, "--cache", cache]
    lrcn(*evaluate)  # the test images' features are cached now: what evaluation writes next is the run's own files
    before = (run / "metrics.json").read_bytes()
    filler = small / "filler"
    with open(filler, "wb", buffering=0) as f:  # unbuffered: nothing left to flush on close
        try:
            while f.write(b"\0" * 65536):
                pass
        except OSError:
            pass
    line = error_line(lrcn(*evaluate, check=False))
    print(line)
    assert f"{run}/" in line and "no space left on device" in line
    assert temporaries(small) == [] and broken_files(small) == [] and (run / "metrics.json").read_bytes() == before
    filler.unlink()
    lrcn(*evaluate)
