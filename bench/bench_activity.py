"""Activity recognition speed: our path vs the naive one common LRCN repos take, measured in the same run.

1. Feature extraction (frames/s of video at 224x224) on PyTorch: ours runs each frame through the frozen CNN once,
   batched, channels-last, inference mode, in fp32 and in bf16 autocast side by side (the default, ``auto``, marked
   with its rate over the faster); the naive way recomputes the CNN for every overlapping 16-frame clip (stride 8),
   fp32, NCHW, autograd on.
2. LRCN training (clips/s, fp32 and bf16 side by side, the default marked): ours steps on cached features; the naive
   way pushes every clip's frames through the frozen CNN at each step. Then end-to-end fine-tuning (``--finetune``):
   the CNN trains too (forward and backward through it; decoding not counted, it runs in DataLoader workers).
3. ``classify`` of a 10-second 25 fps 320x240 video after the model is loaded (target <= 4 s).

The machine comes first (``lrcn.doctor.header``), with its matrix-product rates measured in the same run; each rate
is also given as a share of that bound. A precision this CPU has no dot products for is not run on the costly
paths (fine-tuning in emulated bf16 would take hours); the matrix-product rates show why.

Usage: python bench/bench_activity.py [--run RUN] [--backbone efficientnet_lite0] [--size 224]
(without --run, a throwaway run is trained on a tiny synthetic set first).
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from lrcn.data.video import sample_clip_starts, write_video
from lrcn.device import autocast, choose_precision, native
from lrcn.doctor import flops_per_frame, header, matmul_rate
from lrcn.models.activity import ActivityModelConfig, LRCN, per_step_loss
from lrcn.models.backbones import create_backbone

CPU = torch.device("cpu")


def sync() -> None:
    """Wait for the GPU's queued work (a timing that did not would time the launches)."""
    if torch.cuda.is_initialized():
        torch.cuda.synchronize()


def timed(fn, repeat: int) -> float:
    fn()  # warm up
    sync()
    t0 = time.perf_counter()
    for _ in range(repeat):
        fn()
    sync()
    return (time.perf_counter() - t0) / repeat


def trainer_step(model, precision: str, device: torch.device = CPU):
    """``step(forward)``: one optimiser step of ``model`` on the loss ``forward()`` returns, under autocast in
    ``precision`` on ``device`` (fp16 with a gradient scaler, as Lightning's 16-mixed)."""
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], 1e-3)
    scaler = torch.amp.GradScaler(device.type, enabled=precision == "fp16")

    def step(forward) -> None:
        with autocast(device, precision):
            loss = forward()
        opt.zero_grad()
        scaler.scale(loss).backward()
        scaler.step(opt)
        scaler.update()

    return step


def feature_extraction(backbone, frames: torch.Tensor, precision: str) -> float:
    """Frames of video per second, ours: batched, channels-last, inference mode, in ``precision``."""
    fast = backbone.to(memory_format=torch.channels_last)
    cl = frames.contiguous(memory_format=torch.channels_last)

    def ours():
        with torch.inference_mode(), autocast(CPU, precision):
            for chunk in cl.split(64):
                fast(chunk)

    return frames.shape[0] / timed(ours, 2)


def naive_extraction(backbone, frames: torch.Tensor) -> float:
    """Frames of video per second, the naive way: the CNN per overlapping clip, fp32, NCHW, autograd on."""
    backbone.to(memory_format=torch.contiguous_format)

    def naive():
        for s in sample_clip_starts(frames.shape[0], 16, 8):
            backbone(frames[s : s + 16].float() / 255)

    return frames.shape[0] / timed(naive, 1)


def head_step(feature_dim: int, batch: int, precision: str = "fp32", classes: int = 101, device: torch.device = CPU):
    """One LRCN training step on (batch, 16, D) features in ``precision`` (autocast, as Lightning's) on ``device``."""
    head = LRCN(feature_dim, classes, ActivityModelConfig()).to(device)
    step, labels = trainer_step(head, precision, device), torch.randint(0, classes, (batch,), device=device)
    return lambda feats: step(lambda: per_step_loss(head(feats)[0], labels))


def head_rate(feature_dim: int, batch: int, precision: str = "fp32", device: torch.device = CPU) -> float:
    """LRCN training clips per second on cached (batch, 16, D) features, in ``precision``, on ``device``."""
    step = head_step(feature_dim, batch, precision, device=device)
    feats = torch.rand(batch, 16, feature_dim, device=device)
    return batch / timed(lambda: step(feats), 5)


def naive_training(backbone, frames: torch.Tensor, batch: int) -> float:
    """LRCN training clips per second, the naive way: every clip's frames through the frozen CNN each step, fp32."""
    step = head_step(backbone.feature_dim, batch)

    def naive():
        with torch.no_grad():
            feats = backbone(frames[: 16 * batch].float() / 255).view(batch, 16, -1)  # fp32, NCHW
        step(feats)

    return batch / timed(naive, 1)


def finetuning(name: str, frames: torch.Tensor, batch: int, precision: str, device: torch.device = CPU) -> float:
    """End-to-end fine-tuning clips per second: ``ActivityModule(finetune)``'s CNN + LRCN, one AdamW step, on
    ``device``."""
    from lrcn.config import resolve
    from lrcn.tasks.activity.config import ActivityConfig
    from lrcn.tasks.activity.module import ActivityModule

    size = frames.shape[-1]
    cfg = resolve(ActivityConfig, {"features.backbone": name, "features.pretrained": False, "features.image_size": size,
                                   "train.finetune": True})
    feature_dim = create_backbone(name, pretrained=False).feature_dim
    module = ActivityModule(cfg, [str(c) for c in range(101)], feature_dim).to(device).train()
    clips = frames[: 16 * batch].view(batch, 16, 3, size, size).to(device)  # (B, L, 3, S, S) uint8
    labels = torch.randint(0, 101, (batch,), device=device)
    train = trainer_step(module.model, precision, device)

    def step():
        train(lambda: per_step_loss(module.model(clips)[0], labels))  # logits (B, L, C)

    step()  # the first two steps build oneDNN's kernels (a single warm-up step timed 3x too slow)
    return batch / timed(step, 3)


def side_by_side(what: str, unit: str, rate, use: str, flops: float, bounds: dict, costly: bool = False) -> float:
    """``rate(precision)`` for fp32 and bf16, printed with the default (auto) marked; returns the default's rate."""
    auto = choose_precision("auto", CPU, use).value
    rates = {}
    for precision in ("fp32", "bf16"):
        ok, why = native(precision, CPU)
        if ok or not costly:
            rates[precision] = rate(precision)
        else:
            print(f"  {what}, {precision}: not run ({why}; emulated bf16 products ran at "
                  f"{bounds[precision]:.1f} GFLOP/s here against {bounds['fp32']:.0f} for fp32)")
    fastest = max(rates.values())
    for precision, r in rates.items():
        mark = f"  <- default (auto), {r / fastest:.2f} of the fastest" if precision == auto else ""
        print(f"  {what}, {precision}: {r:8.2f} {unit}  {r * flops / 1e9 / bounds[precision]:6.1%} of the "
              f"{precision} matmul bound{mark}")
    return rates[auto]


def training_flops(feature_dim: int) -> float:
    """FLOPs of one clip's training step on cached features: forward and backward (torch's FLOP counter)."""
    from torch.utils.flop_counter import FlopCounterMode

    head = LRCN(feature_dim, 101, ActivityModelConfig())
    counter = FlopCounterMode(display=False)
    with counter:
        logits, _ = head(torch.rand(1, 16, feature_dim))
        per_step_loss(logits, torch.zeros(1, dtype=torch.long)).backward()
    return float(counter.get_total_flops())


def throwaway_run(root: Path, size: int) -> Path:
    from lrcn.config import resolve
    from lrcn.data.synthetic.actions import write_actions
    from lrcn.tasks.activity.config import ActivityConfig
    from lrcn.tasks.activity.train import train

    data = write_actions(root / "data", videos_per_class=2, num_frames=16, workers=1)
    cfg = resolve(ActivityConfig, {"data.root": data, "features.image_size": size, "data.workers": 0,
                                   "data.val_fraction": 0.0, "train.epochs": 1})
    return train(cfg, root / "run", cache=root / "cache", progress=False).path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--run", type=Path, help="a trained activity run to time classify with")
    ap.add_argument("--backbone", default="efficientnet_lite0")
    ap.add_argument("--size", type=int, default=224)
    ap.add_argument("--frames", type=int, default=64, help="frames of video for the extraction timing")
    args = ap.parse_args()
    torch.manual_seed(0)
    print("\n".join(header()))
    bounds = {p: matmul_rate(p) for p in ("fp32", "bf16")}
    print("matrix products here (1024^3): " + ", ".join(f"{p} {r:.1f} GFLOP/s" for p, r in bounds.items()))
    print(f"backbone {args.backbone} at {args.size}x{args.size}")
    backbone = create_backbone(args.backbone, pretrained=False)
    frames = torch.randint(0, 256, (args.frames, 3, args.size, args.size), dtype=torch.uint8)
    per_frame = flops_per_frame(backbone, args.size)
    step_flops = training_flops(backbone.feature_dim)

    print("1. feature extraction (frames/s, each frame once, batched, channels-last):")
    ours = side_by_side("CNN", "frames/s", lambda p: feature_extraction(backbone, frames, p), "cnn", per_frame,
                        bounds)
    naive = naive_extraction(backbone, frames)
    print(f"  naive: {naive:6.1f} frames/s (per overlapping clip, fp32, NCHW); the default {ours / naive:.1f}x it")
    print("2. LRCN training (clips/s, batches of 4 x 16 frames):")
    ours = side_by_side("on cached features", "clips/s", lambda p: head_rate(backbone.feature_dim, 4, p), "train",
                        step_flops, bounds)
    naive = naive_training(backbone, frames, batch=4)
    print(f"  naive: {naive:6.2f} clips/s (frames through the frozen CNN every step); the default {ours / naive:.0f}x it")
    tuned = side_by_side("fine-tuning (CNN + LRCN end to end)", "clips/s",
                         lambda p: finetuning(args.backbone, frames, 4, p), "train", 16 * 3 * per_frame, bounds,
                         costly=True)
    print(f"  cached features {ours / tuned:.0f}x faster than fine-tuning")

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        run = args.run or throwaway_run(tmp, args.size)
        import lrcn

        predictor = lrcn.load(run)
        rng = np.random.default_rng(0)
        video = tmp / "ten_seconds.avi"
        write_video(video, rng.integers(0, 256, (250, 240, 320, 3), dtype=np.uint8))
        seconds = timed(lambda: predictor.predict(video), 2)
        print(f"classify of a 10 s 25 fps 320x240 video (model loaded): {seconds:.2f} s (target <= 4 s)  [{run}]")


if __name__ == "__main__":
    main()
