"""Live recognition (``lrcn watch``): per-frame latency and sustained frames/s at 128 px, beside the naive way peer
repositories take (a sliding 16-frame window re-run through the CNN and the LSTM at every new frame), same run.

Both read the same 10-second 25 fps 320x240 video through the same decoder (``lrcn.data.live``, frames decoded at the
size the CNN reads) and the same CNN and LSTM. Ours pushes each frame once into the LSTM's carried state
(``OnlineStream``), one frame at a time (``--every 1``: the latency a live caller sees) and 8 at a time (``--every 8``,
the default: the CNN batches them); the naive way recomputes all 16 frames of the window and runs the LSTM over
them from a zero state, for every frame. Latency: from a frame's decoding to its running prediction. Frames/s: the
whole loop, decoding included. Target: keep up with 25 fps at 128 px on 2 cores.

Usage: python bench/bench_watch.py [--run RUN] [--size 128] [--repeat 3]
(without --run, a throwaway activity run is trained on a tiny synthetic set first, at --size pixels).
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections import deque
from pathlib import Path

import numpy as np
import torch

from lrcn.doctor import header

WINDOW = 16


def moving_video(path: Path, frames: int = 250, size: tuple[int, int] = (240, 320)) -> Path:
    """A square crossing a textured background: 10 s at 25 fps."""
    from lrcn.data.video import write_video

    h, w = size
    yy, xx = np.mgrid[0:h, 0:w]
    background = (96 + 48 * np.sin(xx / 9.0) * np.cos(yy / 13.0)).astype(np.uint8)
    video = np.repeat(np.repeat(background[None, :, :, None], frames, 0), 3, -1)
    for t in range(frames):
        x = int((w - 40) * t / (frames - 1))
        video[t, 100:140, x : x + 40] = (230, 200, 40)
    write_video(path, video)
    return path


def ours(predictor, video: Path, size: int, every: int) -> tuple[list[float], float]:
    """(per-frame latencies in s, frames/s) of the watch path: each frame through the CNN once, the LSTM carried."""
    from lrcn.data.live import live_frames

    live, latencies, chunk, stamps = predictor.stream(), [], [], []
    start = time.perf_counter()
    for frame in live_frames(str(video), (size, size)):
        chunk.append(frame.image)
        stamps.append(time.perf_counter())
        if len(chunk) == every:
            live.push(np.stack(chunk))
            latencies += [time.perf_counter() - s for s in stamps]
            chunk, stamps = [], []
    if chunk:
        live.push(np.stack(chunk))
        latencies += [time.perf_counter() - s for s in stamps]
    return latencies, len(latencies) / (time.perf_counter() - start)


@torch.inference_mode()
def naive(predictor, video: Path, size: int) -> tuple[list[float], float]:
    """The same, recomputing a 16-frame window through CNN and LSTM (from a zero state) at every frame."""
    from lrcn.data.live import live_frames
    from lrcn.data.transforms import crop_views, to_tensor

    stream = predictor.streams[0]
    spec, window, latencies = stream.extractor.spec, deque(maxlen=WINDOW), []
    start = time.perf_counter()
    for frame in live_frames(str(video), (size, size)):
        t0 = time.perf_counter()
        window.append(frame.image)
        crops = crop_views(to_tensor(np.stack(window)), spec.image_size, "center")  # (n, 1, 3, S, S)
        feats = stream.extractor.embed(crops)[:, 0]  # (n, D)
        logits, _ = stream.model.head(feats[None].float().to(stream.device), None)  # (1, n, C)
        logits[0, -1].softmax(-1)
        latencies.append(time.perf_counter() - t0)
    return latencies, len(latencies) / (time.perf_counter() - start)


def predictor_of(run: Path | None, tmp: Path, size: int):
    """``lrcn.load(run)``, or of a throwaway run trained on a tiny synthetic set at ``size`` pixels."""
    import lrcn

    if run is None:
        sys.path.insert(0, str(Path(__file__).parent))
        from bench_activity import throwaway_run

        run = throwaway_run(tmp, size)
    return lrcn.load(run, device="cpu"), run


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--run", type=Path, help="an activity run (or export) to watch with")
    ap.add_argument("--size", type=int, default=128, help="image size of the throwaway run (the demo's: 128)")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    print("\n".join(header()))  # the machine first: every figure below is this one's
    results = {"watch --every 1": [], "watch --every 8": [], "naive 16-frame window": []}
    with tempfile.TemporaryDirectory() as tmp:
        predictor, run = predictor_of(args.run, Path(tmp), args.size)
        spec = predictor.streams[0].extractor.spec
        video = moving_video(Path(tmp) / "ten_seconds.avi")
        ours(predictor, video, spec.decode_size, 8)  # warm up
        for _ in range(args.repeat):  # interleaved, so that the machine's load hits each alike
            results["watch --every 1"].append(ours(predictor, video, spec.decode_size, 1))
            results["watch --every 8"].append(ours(predictor, video, spec.decode_size, 8))
            results["naive 16-frame window"].append(naive(predictor, video, spec.decode_size))
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; {spec.backbone} at {spec.image_size} px "
          f"(decoded at {spec.decode_size}); a 10 s 25 fps 320x240 video, 250 frames; median of {args.repeat} runs")
    fps = {}
    for name, runs in results.items():
        latencies = np.array([lat for r in runs for lat in r[0]]) * 1000
        fps[name] = statistics.median(r[1] for r in runs)
        print(f"  {name:22s} latency per frame: median {np.median(latencies):6.1f} ms, p95 "
              f"{np.percentile(latencies, 95):6.1f} ms   sustained {fps[name]:6.1f} frames/s")
    base = fps["naive 16-frame window"]
    print(f"  ratio to the naive way: {fps['watch --every 1'] / base:.1f}x (every frame), "
          f"{fps['watch --every 8'] / base:.1f}x (8 at a time)")
    for name in ("watch --every 1", "watch --every 8"):
        print(f"  {name} keeps up with 25 fps: {'yes' if fps[name] >= 25 else 'no'} ({fps[name]:.1f} frames/s)")
    print(f"  [{run}]")


if __name__ == "__main__":
    main()
