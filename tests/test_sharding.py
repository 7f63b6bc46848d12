"""Sharded feature extraction: ``torchrun --nproc_per_node 2 --no-python lrcn features`` fills the same entries as one
process, each file computed once, and an entry already there is skipped; DDP training matches one process."""
import csv
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from activity_data import write_ucf101
from cli import lrcn

LRCN = str(Path(sys.executable).parent / "lrcn")


def torchrun(nproc: int, *args, env) -> subprocess.CompletedProcess:
    out = subprocess.run([str(Path(sys.executable).parent / "torchrun"), "--nproc_per_node", str(nproc),
                          "--no-python", LRCN, *map(str, args)], capture_output=True, text=True, env=env)
    assert out.returncode == 0, out.stderr[-3000:]
    return out


def computed(stderr: str) -> dict[int, int]:
    """{rank: entries it computed}, from each rank's log line."""
    return {int(r): int(n) for r, n in re.findall(r"rank (\d+) of \d+: computed (\d+) entries", stderr)}


def test_two_ranks_fill_the_entries_of_one_process_each_file_once(tmp_path):
    data = write_ucf101(tmp_path / "UCF101", groups=4, test_groups=1)  # 8 videos
    cache = tmp_path / "cache"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    args = ["features", "--task", "activity", "--data", data, "--image-size", 32, "--cache", cache, "--workers", 0]
    alone = lrcn(*args, env=env)
    assert computed(alone.stderr) == {0: 8}
    folder = next(cache.glob("efficientnet_lite0-rgb-32-*"))
    reference = folder.with_name("reference")
    folder.rename(reference)  # the converted CNN stays: both runs use the same engine model
    entries = sorted(p.name for p in reference.glob("*.npy"))
    folder.mkdir()
    for name in entries[:2]:  # two entries already there (another job, or an interrupted one)
        shutil.copy(reference / name, folder / name)
    out = torchrun(2, *args, env=env)
    counts = computed(out.stderr)
    assert sorted(counts) == [0, 1] and sum(counts.values()) == 6  # the 6 missing files, none twice
    assert abs(counts[0] - counts[1]) <= 1
    assert sorted(p.name for p in folder.glob("*.npy")) == entries
    for name in entries:
        # Bit-identical here (OpenVINO bf16, 1 process of 2 threads vs 2 of 1); the tolerance allows for kernels that
        # block differently by batch or thread count on other CPUs (bf16 rounding: ~1e-2 on features of size ~1).
        np.testing.assert_allclose(np.load(folder / name).astype(np.float32),
                                   np.load(reference / name).astype(np.float32), atol=2e-2, rtol=0)


def test_features_refuses_an_option_of_another_task(tmp_path):
    out = lrcn("features", "--task", "caption", "--data", tmp_path, "--flip", check=False)
    assert out.returncode == 1 and "--flip: not an option of --task caption" in out.stderr
    assert "Traceback" not in out.stderr


def test_features_help_lists_the_spec_options():
    out = lrcn("features", "--help")
    for flag in ("--task", "--engine", "--cache-format", "--image-size", "--modality", "--cache"):
        assert flag in out.stdout


@pytest.mark.slow
def test_ddp_two_processes_train_the_same_run_as_one_process(tmp_path):
    """One process with 24 clips a batch vs torchrun --nproc_per_node 2 with 12 clips a rank (the same global batch).

    The run is made deterministic where ranks would otherwise draw their own random numbers: the batch is the whole
    training set (so the sampler's order does not matter), each clip is the whole video (no random start), centre
    views only, no dropout. DDP then averages the two ranks' gradients into the one process's gradient, up to the
    order of float additions: the final weights must agree to 1e-4 (measured: 2.4e-6 of the largest weight), the test
    accuracy exactly. With
    dropout, random clip starts and mini-batches, the ranks draw different random numbers from the one process, and
    the two runs differ as two seeds do.
    """
    data = write_ucf101(tmp_path / "UCF101", groups=16, test_groups=4)  # 24 training videos, 8 test
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    args = ["train", "activity", "--data", data, "--image-size", 48, "--epochs", 30, "--val-fraction", 0,
            "--clip-len", 20, "--clips-per-video", 1, "--fc6", 16, "--hidden", 16, "--pca", 8, "--fc6-dropout", 0,
            "--dropout", 0, "--lr", 0.01, "--workers", 0]
    lrcn(*args, "--batch-size", 24, "--out", tmp_path / "one", "--cache", tmp_path / "cache-one", env=env)
    torchrun(2, *args, "--batch-size", 12, "--out", tmp_path / "two", "--cache", tmp_path / "cache-two", env=env)
    weights = {r: torch.load(tmp_path / r / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=False)
               for r in ("one", "two")}
    assert weights["one"]["global_step"] == weights["two"]["global_step"] == 30
    one, two = weights["one"]["state_dict"], weights["two"]["state_dict"]
    assert one.keys() == two.keys()
    for name in one:
        torch.testing.assert_close(two[name], one[name], rtol=1e-4, atol=1e-5, msg=name)
    first, last = first_and_last_loss(tmp_path / "one")
    assert last < 0.8 * first  # it learned in those steps: the comparison is of a run that moved
    for run in ("one", "two"):
        lrcn("eval", "activity", tmp_path / run, "--cache", tmp_path / f"cache-{run}", env=env)
    acc = {r: json.loads((tmp_path / r / "metrics.json").read_text())["video_acc"] for r in ("one", "two")}
    assert acc["one"] == acc["two"]


def first_and_last_loss(run: Path) -> tuple[float, float]:
    rows = [float(r["train/loss_step"]) for r in csv.DictReader(open(run / "logs" / "metrics.csv"))
            if r.get("train/loss_step")]
    return rows[0], rows[-1]
