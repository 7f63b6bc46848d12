"""The CNN pass, side by side in one run, on the same frames.

1. Engines on the trunk alone (one process, batches back to back, interleaved rounds so that the machine's load hits
   every engine alike): PyTorch fp32 (the reference) and bf16 autocast, torch.compile bf16, ONNX Runtime fp32,
   OpenVINO fp32, bf16 and int8 (NNCF post-training calibration on other frames). Frames/s, each as a share of this
   machine's matrix-product rate in its precision (measured first), and each engine's features against PyTorch
   fp32's: the cosine per frame on real photos (scikit-image's) and on video frames. The defaults are marked (auto's
   engine and precision, and auto's precision on ``--engine torch``), each with its rate over the fastest of its
   engine. A bf16 path this CPU has no bf16 dot products for runs one round (PyTorch emulates it, slowly) or not at
   all (OpenVINO: it runs such a model in fp32 on a real AVX2 CPU, and crashes when held to AVX2 by the switch). With ``--run RUN`` (an activity run, e.g. runs/demo/activity-rgb-lrcn), the run's test accuracy
   with its test features computed by each engine (at the run's image size; int8 calibrated at that size too).
2. The whole ``lrcn features`` pass on real-format videos (MPEG-4 AVI, 320x240, 25 fps; ``lrcn synth actions``):
   PyTorch bf16 vs the default engine, 1 process vs ``torchrun --nproc_per_node 2``; then the flow stream (optical
   flow computed in the decoding workers), 1 vs 2 local workers and 1 vs 2 processes. Each rank prints frames/s and
   the share of the pass its CNN was busy (decoding and flow overlap it in workers).

Usage: python bench/bench_features.py [--size 224] [--batch 32] [--rounds 5] [--videos 4] [--run RUN]
       [--skip compile,int8,pass]
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from lrcn.data.transforms import crop_views, to_tensor
from lrcn.device import choose_engine, choose_precision, engine_precision, native
from lrcn.doctor import flops_per_frame, header, matmul_rate
from lrcn.features.engines import ov_core, torch_engine
from lrcn.features.extractor import Extractor, run_batches
from lrcn.features.spec import FeatureSpec

PHOTOS = ("astronaut", "chelsea", "coffee", "rocket", "cat")
ENGINES = {  # name -> (engine, precision) of an Extractor; None: built here
    "torch fp32": ("torch", "fp32"),  # the reference
    "torch bf16": ("torch", "bf16"),
    "torch.compile bf16": None,
    "onnxruntime fp32": ("onnxruntime", "fp32"),
    "openvino fp32": ("openvino", "fp32"),
    "openvino bf16": ("openvino", "bf16"),
    "openvino int8 (NNCF)": None,
}
CPU = torch.device("cpu")


def photos(size: int) -> torch.Tensor:
    """Real photos: 5 scikit-image photographs x 10 crops (corners, centre, mirrors): (50, 3, S, S) uint8."""
    import cv2
    import skimage.data

    decode = round(size / 0.875)
    images = [cv2.resize(getattr(skimage.data, n)()[..., :3], (decode, decode), interpolation=cv2.INTER_AREA)
              for n in PHOTOS]
    return crop_views(to_tensor(np.stack(images)), size, "ten").flatten(0, 1)


def video_frames(videos: list[Path], size: int) -> torch.Tensor:
    """Every frame's centre crop: (N, 3, S, S) uint8."""
    from lrcn.features.inputs import frame_views

    return torch.cat([frame_views(v, FeatureSpec(image_size=size)).flatten(0, 1) for v in videos])


def build_engines(size: int, skip: set[str], calibration: torch.Tensor, root: Path) -> dict:
    engines = {}
    bf16 = native("bf16", CPU)[0]
    for name, how in ENGINES.items():
        if "bf16" in name and not bf16 and not name.startswith("torch "):
            continue  # OpenVINO runs it in fp32 on a real AVX2 CPU; torch.compile: as slow as torch bf16 here
        if how is not None:
            engine, precision = how
            engines[name] = Extractor(FeatureSpec(image_size=size, engine=engine, precision=precision), "cpu",
                                      model_cache=root).engine
        elif name.startswith("torch.compile") and "compile" not in skip:
            from lrcn.models.backbones import create_backbone

            net = torch.compile(create_backbone("efficientnet_lite0").to(memory_format=torch.channels_last))
            engines[name] = torch_engine(net, "bf16")
        elif name.endswith("(NNCF)") and "int8" not in skip:
            engines[name] = int8_engine(size, calibration, root)
    return engines


def int8_engine(size: int, calibration: torch.Tensor, root: Path):
    """OpenVINO int8: NNCF's post-training quantisation of the converted model, calibrated on ``calibration``."""
    import nncf

    Extractor(FeatureSpec(image_size=size, engine="openvino"), "cpu", model_cache=root).engine  # converts it
    xml = next((root / "engines").glob(f"openvino-*-efficientnet_lite0-{size}-*/model.xml"))
    items = [x[None].numpy() for x in calibration]
    model = nncf.quantize(ov_core().read_model(xml), nncf.Dataset(items), subset_size=len(items))
    request = ov_core().compile_model(model, "CPU", {"INFERENCE_PRECISION_HINT": "f32",
                                                     "INFERENCE_NUM_THREADS": torch.get_num_threads()}
                                      ).create_infer_request()
    return lambda x: torch.from_numpy(np.asarray(request.infer({0: x.numpy()})[0], np.float16))


def default_rows() -> dict[str, str]:
    """The rows the defaults run here: auto's engine and precision, and auto's precision on ``--engine torch``."""
    engine = choose_engine("auto", CPU).value
    return {f"torch {choose_precision('auto', CPU, 'cnn').value}": "--engine torch's default",
            f"{engine} {engine_precision(engine, 'auto', CPU).value}": "the default (auto)"}


def speed(engines: dict, frames: torch.Tensor, rounds: int) -> dict[str, float]:
    """Median frames/s of each engine on ``frames`` (one batch a call), rounds interleaved across engines; an emulated
    precision (bf16 without bf16 dot products) one round."""
    emulated = {n for n in engines if "bf16" in n and not native("bf16", CPU)[0]}
    for name, run in engines.items():
        if name not in emulated:
            run(frames)  # warm up (torch.compile compiles here)
    times: dict[str, list[float]] = {n: [] for n in engines}
    for r in range(rounds):
        for name, run in engines.items():
            if name in emulated and r:
                continue
            t0 = time.perf_counter()
            run(frames)
            times[name].append(time.perf_counter() - t0)
    return {n: len(frames) / statistics.median(t) for n, t in times.items()}


def cosines(engines: dict, frames: torch.Tensor, batch: int) -> dict[str, np.ndarray]:
    feats = {n: run_batches(run, frames, batch).float() for n, run in engines.items()}
    ref = feats["torch fp32"]
    return {n: torch.nn.functional.cosine_similarity(f, ref).numpy() for n, f in feats.items()}


def run_accuracy(run: Path, skip: set[str], videos: list[Path], root: Path) -> dict[str, float]:
    """The run's test video accuracy with its test features computed by each engine (at the run's image size)."""
    from lrcn.bundle import open_bundle
    from lrcn.tasks.activity.evaluate import score_test_set
    from lrcn.tasks.activity.predictor import Stream

    size = Stream(open_bundle(run), torch.device("cpu")).extractor.spec.image_size
    engines = build_engines(size, skip, video_frames(videos[1::4], size)[::2], root)
    out = {}
    for name, engine in engines.items():
        stream = Stream(open_bundle(run), torch.device("cpu"))
        stream.extractor._engine = engine  # this engine computes the run's test features (into a cache of its own)
        scores = score_test_set(stream, cache=root / f"acc-{len(out)}", workers=1)
        out[name] = float((scores.scores.argmax(1) == scores.labels).mean())
    return out


def features_pass(data: Path, cache: Path, size: int, engine: str, procs: int, workers: int, modality: str,
                  threads: int | None = None) -> dict:
    """One ``lrcn features`` pass into a cache emptied of features (its converted CNN kept): the pass's frames/s
    (every rank's frames over the slowest rank's time), each rank's CNN busy share, the whole command's wall time.
    ``threads`` per process: by default the 2 cores shared out."""
    for d in [*cache.glob("efficientnet_lite0-*"), cache / "flow"]:
        shutil.rmtree(d, ignore_errors=True)
    bin_dir = Path(sys.executable).parent
    cmd = [str(bin_dir / "lrcn")]
    if procs > 1:
        cmd = [str(bin_dir / "torchrun"), "--nproc_per_node", str(procs), "--no-python", *cmd]
    cmd += ["features", "--task", "activity", "--data", str(data), "--image-size", str(size), "--engine", engine,
            "--cache", str(cache), "--workers", str(workers), "--modality", modality]
    t0 = time.perf_counter()
    env = {**os.environ, "OMP_NUM_THREADS": str(threads or max(1, 2 // procs))}
    out = subprocess.run(cmd, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - t0
    if out.returncode:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{out.stderr[-2000:]}")
    line = r"computed \d+ entries, (\d+) frames in ([\d.]+) s \(\d+ frames/s\), CNN busy (\d+)%"
    ranks = re.findall(line, out.stderr)
    frames = sum(int(f) for f, _, _ in ranks)
    seconds = max(float(s) for _, s, _ in ranks)
    return {"rate": frames / seconds, "busy": [int(b) for _, _, b in ranks], "wall": wall, "frames": frames}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=224)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--videos", type=int, default=4, help="videos per class (12 classes, 24 frames each)")
    ap.add_argument("--run", type=Path, help="an activity run whose test accuracy to measure with each engine")
    ap.add_argument("--skip", default="", help="comma-separated: compile, int8, pass")
    args = ap.parse_args()
    skip = set(filter(None, args.skip.split(",")))
    print("\n".join(header()))
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    bounds = {p: matmul_rate(p) for p in ("fp32", "bf16")}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        from lrcn.data.synthetic.actions import write_actions

        data = write_actions(tmp / "actions", seed=0, videos_per_class=args.videos, num_frames=24)
        videos = sorted(data.glob("*/*.avi"))
        real, frames = photos(args.size), video_frames(videos[::4], args.size)
        calibration = video_frames(videos[1::4], args.size)[::2]  # other videos than the ones compared
        engines = build_engines(args.size, skip, calibration, tmp)
        rates = speed(engines, real[: args.batch], args.rounds)
        cos_real, cos_video = cosines(engines, real, args.batch), cosines(engines, frames, args.batch)
        acc = run_accuracy(args.run, skip, videos, tmp) if args.run else {}
        base = rates["torch fp32"]
        flops = flops_per_frame(Extractor(FeatureSpec(image_size=args.size), CPU).backbone.eval(), args.size)
        defaults = default_rows()
        print(f"\n1. The CNN alone (EfficientNet-Lite0, {args.size} px, {flops / 1e9:.2f} GFLOP a frame, batch "
              f"{args.batch}, median of {args.rounds}): cosine to fp32 per frame on {len(real)} photo crops and "
              f"{len(frames)} video frames; matmul bound: "
              + ", ".join(f"{p} {r:.0f} GFLOP/s" for p, r in bounds.items()))
        print(f"{'engine':26} {'frames/s':>9} {'x fp32':>7} {'of bound':>9} {'photos min':>11} {'mean':>7} "
              f"{'video min':>10}" + (f" {'test acc':>9}" if acc else ""))
        for n in engines:
            share = rates[n] * flops / 1e9 / bounds["bf16" if "bf16" in n else "fp32"]
            group = [rates[m] for m in engines if m.split()[0] == n.split()[0]]  # the same engine's precisions
            mark = f"  <- {defaults[n]}, {rates[n] / max(group):.2f} of its engine's fastest" if n in defaults else ""
            print(f"{n:26} {rates[n]:9.0f} {rates[n] / base:7.2f} {share:9.1%} {cos_real[n].min():11.4f} "
                  f"{cos_real[n].mean():7.4f} {cos_video[n].min():10.4f}" + (f" {acc[n]:9.1%}" if n in acc else "")
                  + mark)
        skipped = [n for n in ENGINES if n not in engines and "bf16" in n and not native("bf16", CPU)[0]]
        if skipped:
            print(f"not run ({native('bf16', CPU)[1]}): {', '.join(skipped)}")
        if "pass" in skip:
            return
        print(f"\n2. The whole `lrcn features` pass: {len(videos)} videos x 24 frames, 320x240 MPEG-4, {args.size} px "
              "(frames/s of the pass; CNN busy: its share of each rank's pass)")
        runs = [("rgb", "torch", 1, 1), ("rgb", "openvino", 1, 1), ("rgb", "openvino", 2, 1),
                ("flow", "openvino", 1, 1), ("flow", "openvino", 1, 2), ("flow", "openvino", 2, 1)]
        results = {}
        for modality, engine, procs, workers in runs:
            r = features_pass(data, tmp / f"cache-{engine}", args.size, engine, procs, workers, modality)
            results[modality, engine, procs, workers] = r
            print(f"  {modality:4} {engine:9} {procs} process{'es' if procs > 1 else '  '} {workers} worker  "
                  f"{r['rate']:6.0f} frames/s  CNN busy {'/'.join(f'{b}%' for b in r['busy']):9} "
                  f"(whole command {r['wall']:.0f} s)")
        rate = lambda *k: results[k]["rate"]  # noqa: E731
        print(f"  rgb: openvino / torch (1 process) {rate('rgb', 'openvino', 1, 1) / rate('rgb', 'torch', 1, 1):.2f}x; "
              f"2 processes / 1 {rate('rgb', 'openvino', 2, 1) / rate('rgb', 'openvino', 1, 1):.2f}x")
        print(f"  flow: 2 workers / 1 {rate('flow', 'openvino', 1, 2) / rate('flow', 'openvino', 1, 1):.2f}x; "
              f"2 processes / 1 {rate('flow', 'openvino', 2, 1) / rate('flow', 'openvino', 1, 1):.2f}x")


if __name__ == "__main__":
    main()
