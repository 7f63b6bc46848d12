"""Two processes at once: building the same feature cache (and flow cache) both finish with whole entries and the
same numbers as one process alone; two trainings of one run folder: the second gets one clear line (a lock) and the
first's run is the same as if it had been alone."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from activity_data import write_ucf101
from cli import lrcn
from lrcn.tools.damage import broken_files, differences, temporaries

BUILD = """
import json, sys, time
from pathlib import Path
from test_two_at_once import caches
cache, go, videos = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3:]
features, flow = caches(cache)
features.extractor  # the CNN built before the start line: both processes build at the same moment
while not go.exists():
    time.sleep(0.01)
t0 = time.time()
errors = {**flow.build(videos, workers=1), **features.build(videos, workers=0)}
print(json.dumps({"errors": errors, "start": t0, "end": time.time()}))
"""


def caches(root: Path):
    """A feature cache of two views (a mirror too) and the flow cache, both under ``root``."""
    from lrcn.data.flow import FlowCache
    from lrcn.features.cache import FeatureCache
    from lrcn.features.spec import FeatureSpec

    return FeatureCache(root, FeatureSpec(image_size=64, views="center+flip"), device="cpu"), FlowCache(root, "dis", 160)


def build_at_once(cache: Path, videos: list[str], processes: int, go: Path) -> list[dict]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(__file__).parent), os.environ.get("PYTHONPATH", "")])}
    children = [subprocess.Popen([sys.executable, "-c", BUILD, str(cache), str(go), *videos], stdout=subprocess.PIPE,
                                 text=True, env=env) for _ in range(processes)]
    time.sleep(1.0)
    go.touch()
    outs = [child.communicate(timeout=600)[0] for child in children]
    assert all(child.returncode == 0 for child in children)
    return [json.loads(out.splitlines()[-1]) for out in outs]


def entries(cache: Path) -> dict[str, np.ndarray]:
    out = {}
    for p in sorted(cache.rglob("*.np[yz]")):
        if p.suffix == ".npy":
            out[str(p.relative_to(cache))] = np.load(p)
        else:
            with np.load(p) as z:
                out[str(p.relative_to(cache))] = z["jpeg"]
    return out


def test_two_processes_building_the_same_feature_and_flow_cache_both_finish_with_the_same_numbers(tmp_path):
    data = write_ucf101(tmp_path / "ucf", groups=4, test_groups=1)
    videos = sorted(map(str, data.glob("*/*.avi")))
    both = build_at_once(tmp_path / "shared", videos, 2, tmp_path / "go")
    assert all(r["errors"] == {} for r in both)
    assert max(r["start"] for r in both) < min(r["end"] for r in both), "the two builds did not overlap"
    features, flow = caches(tmp_path / "alone")  # one process alone: this one
    assert flow.build(videos, workers=1) == {} and features.build(videos, workers=0) == {}
    shared, single = entries(tmp_path / "shared"), entries(tmp_path / "alone")
    assert len(single) == 2 * len(videos)  # a feature entry and a flow entry per video
    assert shared.keys() == single.keys() and all(np.array_equal(shared[k], single[k]) for k in single)
    assert broken_files(tmp_path / "shared") == [] and temporaries(tmp_path / "shared") == []
    print(f"2 processes, {len(videos)} videos: {len(shared)} entries, every one equal to a single process's; "
          f"builds overlapped {min(r['end'] for r in both) - max(r['start'] for r in both):.1f} s")


@pytest.mark.slow
def test_a_second_training_of_the_same_run_folder_is_refused_and_the_first_run_is_whole(tmp_path):
    data = write_ucf101(tmp_path / "ucf", groups=4, test_groups=1)
    flags = ["--data", data, "--cache", tmp_path / "cache", "--image-size", "64", "--pca", "0", "--fc6", "16",
             "--hidden", "8", "--batch-size", "4", "--epochs", "60", "--workers", "0"]  # long enough to overlap
    lrcn("train", "activity", *flags, "--out", tmp_path / "alone")
    run = tmp_path / "run"
    first = subprocess.Popen([sys.executable, "-m", "lrcn", "train", "activity", *map(str, flags), "--out", str(run)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    while not (run / "config.yaml").is_file():
        assert first.poll() is None
        time.sleep(0.05)
    lines = []
    for extra in ([], ["--resume"], ["--force"]):
        second = lrcn("train", "activity", *flags, "--out", run, *extra, check=False)
        lines.append(second.stderr.strip().splitlines()[-1])
        assert second.returncode == 1 and lines[-1] == f"error: {run}: another process is training this run " \
                                                       f"(it holds {run / '.lock'})"
    assert first.poll() is None, "the first training ended before the others tried: no overlap"
    assert first.wait(timeout=1800) == 0, first.stderr.read()[-2000:]
    print(lines[0])
    assert differences(tmp_path / "alone", run) == [] and broken_files(run) == []
