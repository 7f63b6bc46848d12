"""Cold start of prediction: ``lrcn classify RUN VIDEO`` in a new process, on a 10-second 25 fps 320x240 video.

Prints the median wall time of the whole command (interpreter start, imports, model load, decode, CNN, LSTM),
beside two floors measured in the same run: ``import torch`` alone (ending without Python's teardown of the modules,
as the CLI ends), and the imports the prediction path used to pay (Lightning and timm, which it no longer imports).
Target: at most 2.5 s.

Usage: python bench/bench_cold_start.py [--run RUN] [--size 128] [--repeat 5]
(without --run, a throwaway activity run is trained on a tiny synthetic set first, at --size pixels).
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from lrcn.doctor import header


def wall(cmd: list[str], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--run", type=Path, help="an activity run (or export) to classify with")
    ap.add_argument("--size", type=int, default=128, help="image size of the throwaway run (the demo's: 128)")
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    print("\n".join(header()))  # the machine first: every figure below is this one's
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        from lrcn.data.video import write_video

        video = tmp / "ten_seconds.avi"
        write_video(video, np.random.default_rng(0).integers(0, 256, (250, 240, 320, 3), dtype=np.uint8))
        run = args.run
        if run is None:
            sys.path.insert(0, str(Path(__file__).parent))
            from bench_activity import throwaway_run

            run = throwaway_run(tmp, args.size)
        py = sys.executable
        classify = wall([py, "-m", "lrcn", "classify", str(run), str(video)], args.repeat)
        torch_only = wall([py, "-c", "import os, torch; os._exit(0)"], args.repeat)  # ends as the CLI does
        old_imports = wall([py, "-c", "import lightning, timm"], args.repeat)
        probe = ("import atexit, sys, runpy; sys.argv = ['lrcn', 'classify', %r, %r]\n"  # the CLI ends in os._exit
                 "atexit.register(lambda: print('heavy:', *(m for m in ('lightning', 'timm', 'torchvision', "
                 "'matplotlib') if m in sys.modules)))\n"
                 "runpy.run_module('lrcn', run_name='__main__')" % (str(run), str(video)))
        out = subprocess.run([py, "-c", probe], capture_output=True, text=True).stdout
        heavy = next(line for line in out.splitlines() if line.startswith("heavy:")).removeprefix("heavy:").strip()
    print(f"cold `lrcn classify` of a 10 s 25 fps 320x240 video: {classify:.2f} s (median of {args.repeat}; target <= 2.5 s)")
    print(f"  floor `import torch`: {torch_only:.2f} s ({classify - torch_only:.2f} s above it)")
    print(f"  `import lightning, timm` (what prediction imported before): {old_imports:.2f} s, "
          f"{old_imports / classify:.1f}x the whole command now")
    print(f"  heavy modules on the prediction path: {heavy or 'none'}  [{run}]")


if __name__ == "__main__":
    main()
