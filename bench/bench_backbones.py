"""Backbones side by side on this machine, at 224 px: FLOPs per frame, frames/s per engine, cosine to PyTorch fp32,
and each rate as a share of the machine's matrix-product bound measured in the same run (lrcn.doctor.matmul_rate).

The hub CNNs are seeded random initialisations (``--backbone-weights none``): speed does not depend on the weights,
and nothing is fetched; Lite0 runs its shipped weights, as the demo does. The bound is measured again before each
backbone (a shared machine's load moves it), and printed with it. Each engine runs its batches back to back after a
warm-up; the rounds of all engines interleave so that the machine's load hits each alike; the median round is
printed. The frames are bench_features.py's (5 scikit-image photographs x 10 crops); the cosine is per frame, the
least of them.

Usage: python bench/bench_backbones.py [--size 224] [--batch 8] [--rounds 3]
       [--backbones efficientnet_lite0,timm:resnet18,...] [--engines torch-fp32,openvino-bf16,...]
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import torch

from bench_features import photos
from lrcn.device import native
from lrcn.doctor import flops_per_frame, header, matmul_rate
from lrcn.features.extractor import Extractor
from lrcn.features.spec import FeatureSpec

BACKBONES = ("efficientnet_lite0", "timm:resnet18", "timm:resnet50", "timm:convnext_tiny",
             "timm:vit_small_patch16_224")
ENGINES = ("torch-fp32", "torch-bf16", "onnxruntime-fp32", "openvino-fp32", "openvino-bf16")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=224)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--backbones", default=",".join(BACKBONES))
    ap.add_argument("--engines", default=",".join(ENGINES))
    args = ap.parse_args()
    print("\n".join(header()))  # the machine first: every figure below is this one's
    print("weights: seeded random initialisations (--backbone-weights none; Lite0: its shipped ones): speed does not "
          "depend on them")
    cpu = torch.device("cpu")
    engines = [e for e in args.engines.split(",") if native(e.split("-")[1], cpu)[0]]
    skipped = sorted(set(args.engines.split(",")) - set(engines))
    if skipped:
        print(f"skipped (no native products here): {', '.join(skipped)}")
    frames = photos(args.size)  # (50, 3, S, S): 5 photographs x 10 crops, in batches of --batch
    with tempfile.TemporaryDirectory() as cache:
        for name in args.backbones.split(","):
            bench(name, engines, frames, args, Path(cache))


def bench(name: str, engines: list[str], frames: torch.Tensor, args, cache: Path) -> None:
    def spec(engine: str, precision: str) -> FeatureSpec:
        return FeatureSpec(backbone=name, pretrained=name == "efficientnet_lite0", grid=3, image_size=args.size, engine=engine,
                           precision=precision)

    ex = {e: Extractor(spec(*e.split("-")), "cpu", model_cache=cache, batch_size=args.batch) for e in engines}
    reference = Extractor(spec("torch", "fp32"), "cpu").embed(frames).float()
    flops = flops_per_frame(ex[engines[0]].backbone, args.size)
    cosine = {e: torch.nn.functional.cosine_similarity(x.embed(frames).float(), reference).min().item()
              for e, x in ex.items()}  # the first call converts and warms up
    times: dict[str, list[float]] = {e: [] for e in engines}
    for _ in range(args.rounds):
        for e, x in ex.items():
            start = time.perf_counter()
            x.embed(frames)
            times[e].append(time.perf_counter() - start)
    bound = {p: matmul_rate(p) for p in sorted({e.split("-")[1] for e in engines})}
    print(f"\n{name}: {flops / 1e9:.2f} GFLOPs/frame at {args.size} px, batches of {args.batch}; matmul bound now "
          + ", ".join(f"{p} {r:.0f} GFLOP/s" for p, r in bound.items()))
    for e in engines:
        fps = len(frames) / statistics.median(times[e])
        share = flops * fps / 1e9 / bound[e.split("-")[1]]
        print(f"  {e:17s} {fps:7.1f} frames/s  {share:6.1%} of the {e.split('-')[1]} matmul bound  "
              f"cosine to fp32 {cosine[e]:.5f}")


if __name__ == "__main__":
    main()
