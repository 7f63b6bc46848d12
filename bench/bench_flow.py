"""Optical-flow throughput: what a flow pass over UCF101 costs on this machine.

Prints pairs/s for each method at 320x240 (UCF101's size), the size and speed of the ways to store flow
images (JPEG, PNG, compressed npz), frames/s of the flow cache builder (decode +
flow + JPEG, whole videos) with N worker processes against one process, and the estimated time for all
of UCF101 (13,320 videos, ~2.5 M frames).

    PYTHONPATH=src python bench/bench_flow.py [--pairs 40] [--tvl1-pairs 3] [--videos 16] [--frames 60] [--workers 2]
"""
from __future__ import annotations

import argparse
import io
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from lrcn.data.flow import METHODS, FlowCache, compute_flow, render_flow
from lrcn.data.video import write_video
from lrcn.doctor import header

UCF101_FRAMES = 2_500_000
UCF101_VIDEOS = 13_320


def scene(num_frames: int, seed: int = 0, h: int = 240, w: int = 320) -> np.ndarray:
    """A textured background panning slowly, a square moving across it, sensor noise: (T, h, w, 3) uint8."""
    rng = np.random.default_rng(seed)
    background = cv2.GaussianBlur(rng.integers(0, 256, (h, w, 3), dtype=np.uint8), (0, 0), 3)
    frames = []
    for t in range(num_frames):
        frame = np.roll(background, t // 2, axis=1)
        x, y = (20 + 5 * t) % (w - 60), 60 + t % 100
        frame[y : y + 60, x : x + 60] = (200, 60, 40)
        frames.append(np.clip(frame + rng.normal(0, 3, frame.shape), 0, 255).astype(np.uint8))
    return np.stack(frames)


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def hours(frames_per_s: float) -> str:
    return f"{UCF101_FRAMES / frames_per_s / 3600:8.1f} h"


def storage_formats(images: np.ndarray) -> None:
    """Size, encode and decode speed, and error of each way to store (T, H, W, 3) uint8 flow images."""
    def npz(image):
        buffer = io.BytesIO()
        np.savez_compressed(buffer, image)
        return buffer.getvalue()

    def imdecode(blob):
        return cv2.imdecode(blob, cv2.IMREAD_UNCHANGED)

    formats = {
        "JPEG q90": (lambda im: cv2.imencode(".jpg", im, [cv2.IMWRITE_JPEG_QUALITY, 90])[1], imdecode),
        "JPEG q95": (lambda im: cv2.imencode(".jpg", im, [cv2.IMWRITE_JPEG_QUALITY, 95])[1], imdecode),
        "PNG level 1": (lambda im: cv2.imencode(".png", im, [cv2.IMWRITE_PNG_COMPRESSION, 1])[1], imdecode),
        "npz (zlib)": (npz, lambda blob: np.load(io.BytesIO(blob))["arr_0"]),
    }
    print(f"\nstorage of {len(images)} rendered flow images (320x240; raw {images[0].nbytes / 1024:.0f} KiB/frame)")
    print(f"  {'format':12s} {'KiB/frame':>9s} {'encode f/s':>11s} {'decode f/s':>11s} {'mean |err|':>11s}")
    for name, (encode, decode) in formats.items():
        start = time.perf_counter()
        blobs = [encode(im) for im in images]
        encode_s = time.perf_counter() - start
        start = time.perf_counter()
        decoded = np.stack([decode(b) for b in blobs])
        decode_s = time.perf_counter() - start
        size = sum(len(b) for b in blobs) / len(images) / 1024
        error = np.abs(decoded.astype(int) - images).mean()
        print(f"  {name:12s} {size:9.1f} {len(images) / encode_s:11.0f} {len(images) / decode_s:11.0f} {error:11.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=40, help="frame pairs timed for DIS and Farneback")
    parser.add_argument("--tvl1-pairs", type=int, default=3, help="frame pairs timed for TV-L1 (~1.5 s each)")
    parser.add_argument("--videos", type=int, default=16, help="videos given to the cache builder")
    parser.add_argument("--frames", type=int, default=60, help="frames per video for the cache builder")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    print("\n".join(header()))  # the machine first: every figure below is this one's

    print(f"OpenCV {cv2.__version__}, {cv2.getNumThreads()} threads; 320x240 frames\n")
    print(f"{'method':10s} {'pairs/s':>9s}   UCF101 (~2.5 M frames, one process)")
    for method in METHODS:
        pairs = args.tvl1_pairs if method == "tvl1" else args.pairs
        frames = scene(pairs + 1)
        compute_flow(frames[:2], method)  # warm-up
        rate = pairs / timed(lambda: compute_flow(frames, method))
        print(f"{method:10s} {rate:9.1f}   {hours(rate)}")
    storage_formats(render_flow(compute_flow(scene(args.pairs + 1))))

    with tempfile.TemporaryDirectory() as tmp:
        paths = []
        for i in range(args.videos):
            paths.append(Path(tmp) / f"v_{i:02d}.avi")
            write_video(paths[-1], scene(args.frames, seed=i))
        total = args.videos * args.frames
        print(f"\nflow cache builder (DIS, decode + flow + JPEG), {args.videos} videos x {args.frames} frames, 320x240")
        rates = {}
        FlowCache(tmp).entry(paths[0])  # warm-up: the cache key's module imports torch once per process
        for workers in (1, args.workers):
            cache = FlowCache(Path(tmp) / f"cache-{workers}", "dis")
            rates[workers] = total / timed(lambda: cache.build(paths, workers=workers, description=f"{workers} proc"))
            label = "one process" if workers == 1 else f"{workers} worker processes"
            print(f"  {label:20s} {rates[workers]:7.1f} frames/s   UCF101: {hours(rates[workers])}")
        print(f"  speed-up {rates[args.workers] / rates[1]:.2f}x")
        size = sum(p.stat().st_size for p in (Path(tmp) / "cache-1").rglob("*.npz"))
        per_frame = size / total
        print(f"  cache size {per_frame / 1024:.1f} KiB/frame -> UCF101 ~{per_frame * UCF101_FRAMES / 1e9:.1f} GB")


if __name__ == "__main__":
    main()
