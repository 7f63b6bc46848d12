"""Activity recognition speed: our path vs the naive one common LRCN repos take, measured in the same run.

1. Feature extraction (frames/s of video at 224x224): ours runs each frame through the frozen CNN once,
   batched, channels-last, bf16 autocast, inference mode; the naive way recomputes the CNN for every
   overlapping 16-frame clip (stride 8), fp32, NCHW, autograd on.
2. LRCN training (clips/s): ours steps on cached features; the naive way pushes every clip's frames
   through the frozen CNN at each step. Then end-to-end fine-tuning (``--finetune``): the CNN trains
   too (forward and backward through it, bf16 autocast as its trainer; decoding not counted, it runs
   in DataLoader workers).
3. ``classify`` of a 10-second 25 fps 320x240 video after the model is loaded (target <= 4 s).

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
from lrcn.models.activity import ActivityModelConfig, LRCN, per_step_loss
from lrcn.models.backbones import create_backbone


def timed(fn, repeat: int) -> float:
    fn()  # warm up
    t0 = time.perf_counter()
    for _ in range(repeat):
        fn()
    return (time.perf_counter() - t0) / repeat


def feature_extraction(backbone, frames: torch.Tensor) -> tuple[float, float]:
    """Frames of video per second: (ours, naive)."""
    t = frames.shape[0]
    fast = backbone.to(memory_format=torch.channels_last)
    cl = frames.contiguous(memory_format=torch.channels_last)

    def ours():
        with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16):
            for chunk in cl.split(64):
                fast(chunk)

    def naive():
        for s in sample_clip_starts(t, 16, 8):
            backbone(frames[s : s + 16].float() / 255)  # fp32, NCHW, autograd on

    ours_s = timed(ours, 2)
    backbone.to(memory_format=torch.contiguous_format)
    naive_s = timed(naive, 1)
    return t / ours_s, t / naive_s


def head_step(feature_dim: int, batch: int, classes: int = 101):
    """One LRCN training step on (batch, 16, D) features: the function, and its labels (batch,)."""
    head = LRCN(feature_dim, classes, ActivityModelConfig())
    opt = torch.optim.Adam(head.parameters(), 1e-3)
    labels = torch.randint(0, classes, (batch,))

    def step(feats):
        logits, _ = head(feats)
        loss = per_step_loss(logits, labels)
        opt.zero_grad()
        loss.backward()
        opt.step()

    return step


def head_rate(feature_dim: int, batch: int) -> float:
    """LRCN training clips per second on cached (batch, 16, D) features."""
    step, feats = head_step(feature_dim, batch), torch.rand(batch, 16, feature_dim)
    return batch / timed(lambda: step(feats), 5)


def training(backbone, frames: torch.Tensor, batch: int) -> tuple[float, float]:
    """LRCN training clips per second: (on cached features, naive end-to-end through the frozen CNN)."""
    step = head_step(backbone.feature_dim, batch)
    with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16):
        cached = torch.cat([backbone(c) for c in frames[:16].split(64)]).to(torch.float16)  # (16, D)
    cached = cached.float().clone().expand(batch, 16, -1)

    def naive():
        with torch.no_grad():
            feats = backbone(frames[: 16 * batch].float() / 255).view(batch, 16, -1)  # fp32, NCHW
        step(feats)

    return batch / timed(lambda: step(cached), 5), batch / timed(naive, 1)


def finetuning(name: str, frames: torch.Tensor, batch: int) -> float:
    """End-to-end fine-tuning clips per second: ``ActivityModule(finetune)``'s CNN + LRCN, one AdamW step."""
    from lrcn.config import resolve
    from lrcn.tasks.activity.config import ActivityConfig
    from lrcn.tasks.activity.module import ActivityModule

    size = frames.shape[-1]
    cfg = resolve(ActivityConfig, {"features.backbone": name, "features.pretrained": False, "features.image_size": size,
                                   "train.finetune": True})
    feature_dim = create_backbone(name, pretrained=False).feature_dim
    module = ActivityModule(cfg, [str(c) for c in range(101)], feature_dim).train()
    opt = module.configure_optimizers()
    clips = frames[: 16 * batch].view(batch, 16, 3, size, size)  # (B, L, 3, S, S) uint8
    labels = torch.randint(0, 101, (batch,))

    def step():
        with torch.autocast("cpu", dtype=torch.bfloat16):
            logits, _ = module.model(clips)  # (B, L, C)
        loss = per_step_loss(logits, labels)
        opt.zero_grad()
        loss.backward()
        opt.step()

    step()  # the first two steps build oneDNN's kernels (a single warm-up step timed 3x too slow)
    return batch / timed(step, 3)


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
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; backbone {args.backbone} at {args.size}x{args.size}")
    backbone = create_backbone(args.backbone, pretrained=False)
    frames = torch.randint(0, 256, (args.frames, 3, args.size, args.size), dtype=torch.uint8)

    ours, naive = feature_extraction(backbone, frames)
    print(f"feature extraction: {ours:7.1f} frames/s (batched, channels-last, bf16, once per frame)  "
          f"naive {naive:6.1f} frames/s (per overlapping clip, fp32, NCHW)  ratio {ours / naive:.1f}x")
    ours, naive = training(backbone, frames, batch=4)
    print(f"LRCN training:      {ours:7.1f} clips/s (cached features)  "
          f"naive {naive:6.2f} clips/s (frames through the frozen CNN every step)  ratio {ours / naive:.0f}x")
    tuned = finetuning(args.backbone, frames, batch=4)
    print(f"fine-tuning:        {tuned:7.2f} clips/s (CNN + LRCN end to end, bf16)  "
          f"cached features {ours / tuned:.0f}x faster")

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
