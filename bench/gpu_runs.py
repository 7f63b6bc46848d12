"""The checks of ``bench/gpu_check.py``: the device tests and the predictor contract under pytest with ``--device``,
then tiny activity (frozen CNN and ``--finetune``) and caption runs trained through the CLI on the device, and their
predictions on the device and on the CPU compared (same label or caption, scores within :data:`TOLERANCE`)."""
from __future__ import annotations

import json
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).parent.parent
TESTS = ["tests/test_device.py", "tests/test_predict_contract.py"]
# How far a prediction on the device may be from the CPU's: the CNN and LSTM run in bf16/fp16 there, fp32 or bf16
# (another engine) here. Activity: the top class's probability; captions: the sentence's log-probability (a
# different sentence passes only as a near tie, its log-probability this close to the CPU's).
TOLERANCE = {"score": 0.05, "logprob": 0.1}


@dataclass
class Check:
    name: str
    passed: bool
    detail: str
    seconds: float


def lrcn(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "lrcn", *map(str, args)], capture_output=True, text=True)


def last_line(out: subprocess.CompletedProcess) -> str:
    text = (out.stdout + out.stderr).strip().splitlines()
    return " ".join(text[-1].split())[:200] if text else f"exit {out.returncode}"


def pytest(device: str) -> Check:
    """The device tests and the predictor contract, trained and predicted on ``device``."""
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *TESTS, "--device", device],
                         cwd=ROOT, capture_output=True, text=True)
    detail = last_line(out)
    if out.returncode:
        failed = [line for line in out.stdout.splitlines() if line.startswith("FAILED")]
        detail = "; ".join([detail, *failed[:3]])
    return Check(f"pytest {' '.join(Path(t).name for t in TESTS)} --device {device}", out.returncode == 0, detail,
                 time.perf_counter() - start)


def data(root: Path, size: int) -> dict[str, Path]:
    """The tiny data sets: a UCF101-layout one (tests/activity_data.py) and a captioned scenes one."""
    sys.path.insert(0, str(ROOT / "tests"))
    from activity_data import write_ucf101

    from lrcn.data.synthetic.scenes import write_scenes

    ucf = write_ucf101(root / "ucf", groups=4, test_groups=1)
    scenes = write_scenes(root / "scenes", seed=0, num_train=24, num_val=6, num_test=6, image_size=max(64, size),
                          workers=1)
    return {"ucf": ucf, "video": ucf / "MoveLeft" / "v_MoveLeft_g04_c01.avi", "scenes": scenes,
            "image": sorted((scenes / "images").glob("*.jpg"))[0]}


def runs(root: Path, device: str, size: int) -> tuple[list[Check], dict[str, Path]]:
    """Train the tiny runs on ``device``; compare each one's predictions there and on the CPU."""
    d = data(root, size)
    cache = ["--cache", root / "cache", "--device", device, "--epochs", 2, "--image-size", size]
    head = ["--fc6", 16, "--hidden", 8, "--batch-size", 4]
    jobs = {  # name -> (training arguments, predict command, its input, what to compare)
        "activity (frozen CNN; whitened cache)": (["activity", "--data", d["ucf"], "--pca", 16, *head],
                                                  "classify", d["video"], ("label", "score")),
        "activity --finetune": (["activity", "--data", d["ucf"], "--pca", 0, "--finetune", *head],
                                "classify", d["video"], ("label", "score")),
        "caption": (["caption", "--data", d["scenes"], "--min-count", 1, "--images-per-batch", 8, "--embed-dim", 16,
                     "--hidden", 16, "--image-dim", 16], "caption", d["image"], ("caption", "logprob")),
    }
    checks, trained = [], {}
    for i, (name, (train, command, sample, (same, close))) in enumerate(jobs.items()):
        start, run = time.perf_counter(), root / f"run{i}"
        out = lrcn("train", *train, "--out", run, *cache)
        if out.returncode:
            checks.append(Check(f"train {name} on {device}", False, last_line(out), time.perf_counter() - start))
            continue
        trained[name] = run
        answers = {}
        for where in (device, "cpu"):
            out = lrcn(command, run, sample, "--json", "--device", where)
            answers[where] = json.loads(out.stdout) if out.returncode == 0 else {"error": last_line(out)}
        a, b = answers[device], answers["cpu"]
        near = "error" not in a and "error" not in b and abs(a[close] - b[close]) <= TOLERANCE[close]
        ok = near and (a[same] == b[same] or close == "logprob")  # another caption passes as a near tie only
        detail = (f"{device}: {a.get(same, a.get('error'))!r} {close} {a.get(close)}; cpu: "
                  f"{b.get(same, b.get('error'))!r} {close} {b.get(close)} (tolerance {TOLERANCE[close]})")
        checks.append(Check(f"train {name} on {device}; predict there and on the CPU", ok, detail,
                            time.perf_counter() - start))
    return checks, trained
