"""The bill for the real data sets, from rates measured in this run on this machine.

Measured here, now: the whole feature pass (decode + CNN, 224 px, real-format 320x240 MPEG-4 videos) with the
default engine and with PyTorch (--engine torch, at the precision auto picks here); DIS optical flow in 2 worker
processes; the scaling of the sharded pass from 1 to 2 processes of one thread each (``torchrun``); LRCN training on cached features
and end-to-end fine-tuning (clips/s); caption training on cached features and beam-5 decoding (images/s). Then
UCF101 split 1 (RGB + flow + fusion, frozen and --finetune), COCO captioning (Karpathy split) and TACoS multilevel in
hours and gigabytes, for 1 process (this machine's 2 cores) and for N such processes (each with 2 cores).

Usage: python bench/project.py [--videos 2] [--skip-finetune]
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
from bench_activity import finetuning, head_rate, timed  # noqa: E402
from bench_features import features_pass  # noqa: E402

from lrcn.device import autocast, choose_precision  # noqa: E402
from lrcn.doctor import header  # noqa: E402
from lrcn.features.store import bytes_per_vector  # noqa: E402

D = 1280 * 9  # a 3x3 grid of Lite0 features
UCF101 = {"train videos": 9537, "test videos": 3783, "frames": 2.5e6, "epochs": 30, "clips/video": 4, "test clips": 23}
COCO = {"images": 123_287, "train images": 113_287, "test images": 5000, "epochs": 10, "captions/image": 5}
# TACoS multilevel: 44,762 interval/sentence pairs (research.md); the video count and length are not confirmed there:
# assumed 185 videos of ~5 min at 29.4 fps (the MPII Cooking recordings), about 1.6 M frames.
TACOS = {"frames": 185 * 5 * 60 * 29.4, "intervals": 44_762}
FLOW_JPEG = 3.8 * 1024  # bytes per flow image in the flow cache (lrcn.data.flow: JPEG q90)


def pass_rate(paths: list[Path], root: Path, engine: str) -> tuple[float, float]:
    """(frames/s of the whole feature pass in this process, the CNN's busy share) at 224 px."""
    from lrcn.features.cache import FeatureCache
    from lrcn.features.spec import FeatureConfig

    fc = FeatureCache(root, FeatureConfig(engine=engine).spec(device="cpu"), device="cpu")
    fc.build(paths, workers=1, description=f"{engine} pass")
    return fc.stats.frames / fc.stats.seconds, fc.stats.cnn_seconds / fc.stats.seconds


def flow_rate(paths: list[Path], root: Path) -> float:
    from lrcn.data.flow import FlowCache
    from lrcn.data.video import read_video

    frames = sum(len(read_video(p)) for p in paths)
    start = time.perf_counter()
    FlowCache(root).build(paths, workers=2)
    return frames / (time.perf_counter() - start)


def caption_rates(feature_dim: int, precision: str, batch: int = 20) -> tuple[float, float]:
    """(caption training images/s on cached features in ``precision``, beam-5 decoding images/s), LRCN2f at the
    default width."""
    from lrcn.models.captioner import CaptionModelConfig, ImageCaptioner
    from lrcn.models.decoding import beam_search

    vocab = 10_000  # COCO's vocabulary at min_count 5 is ~9-10k words
    model = ImageCaptioner(feature_dim, vocab, CaptionModelConfig())
    opt = torch.optim.AdamW(model.parameters(), 2e-3)
    feats, owner = torch.randn(batch, feature_dim), torch.arange(batch).repeat_interleave(COCO["captions/image"])
    words = torch.randint(4, vocab, (len(owner), 12))

    def step():
        with autocast(torch.device("cpu"), precision):
            logits = model.captioner(model.encode(feats)[owner], words)
        loss = torch.nn.functional.cross_entropy(logits.float().flatten(0, 1), words.flatten())
        opt.zero_grad()
        loss.backward()
        opt.step()

    train = batch / timed(step, 3)
    with torch.inference_mode():
        cond = model.encode(feats)
        beam = batch / timed(lambda: beam_search(model.captioner, cond, 1, 2, beam_size=5, max_len=20), 1)
    return train, beam


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--videos", type=int, default=2, help="videos per class of the timed pass (12 classes x 24 frames)")
    ap.add_argument("--skip-finetune", action="store_true")
    args = ap.parse_args()
    print("\n".join(header()))
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    train = choose_precision("auto", torch.device("cpu"), "train").value  # the defaults' precision here
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        from lrcn.data.synthetic.actions import write_actions

        data = write_actions(tmp / "actions", seed=0, videos_per_class=args.videos, num_frames=24)
        paths = sorted(data.glob("*/*.avi"))
        rgb, busy = pass_rate(paths, tmp / "cache", "auto")
        before, _ = pass_rate(paths, tmp / "cache-torch", "torch")
        flow = flow_rate(paths, tmp)
        one = features_pass(data, tmp / "cache", 224, "auto", 1, 1, "rgb", threads=1)["rate"]
        two = features_pass(data, tmp / "cache", 224, "auto", 2, 1, "rgb", threads=1)["rate"]
        head = head_rate(D, 24, train)
        frames = torch.randint(0, 256, (64, 3, 224, 224), dtype=torch.uint8)
        tune = float("nan") if args.skip_finetune else finetuning("efficientnet_lite0", frames, 4, train)
        cap_train, cap_beam = caption_rates(D, train)
    efficiency = two / (2 * one)
    print(f"\nMeasured here (training in {train}, auto's choice): feature pass {rgb:.0f} frames/s (default engine; "
          f"CNN busy {busy:.0%}), {before:.0f} with PyTorch ({rgb / before:.1f}x); DIS flow {flow:.0f} frames/s (2 workers); 2 processes of 1 thread did "
          f"{two / one:.2f}x 1 process of 1 thread (split efficiency {efficiency:.0%}); LRCN on cached features "
          f"{head:.0f} clips/s; fine-tuning {tune:.2f} clips/s (224 px); captioning {cap_train:.0f} images/s training, "
          f"{cap_beam:.1f} images/s beam 5.")
    hours = lambda n, rate: n / rate / 3600  # noqa: E731
    u, c = UCF101, COCO
    clips = u["epochs"] * u["train videos"] * u["clips/video"]
    test_clips = u["test videos"] * u["test clips"]
    fp16 = bytes_per_vector(D, "fp16")
    rows = [  # (data set, stage, hours on 1 process, parallel by files?, bytes of cache)
        ("UCF101 s1", "RGB CNN pass (all 2.5 M frames)", hours(u["frames"], rgb), True, u["frames"] * fp16),
        ("UCF101 s1", "optical flow (DIS, 320x240)", hours(u["frames"], flow), True, u["frames"] * FLOW_JPEG),
        ("UCF101 s1", "flow CNN pass", hours(u["frames"], rgb), True, u["frames"] * fp16),
        ("UCF101 s1", f"LRCN training x2 streams ({u['epochs']} epochs, frozen)", 2 * hours(clips, head), False, 0),
        ("UCF101 s1", "evaluation x2 streams + fusion (LSTM on test clips)", 2 * hours(test_clips, head), False, 0),
        ("UCF101 s1", f"--finetune, RGB, {u['epochs']} epochs", hours(clips, tune), False, 0),
        ("COCO", "CNN pass (123,287 images)", hours(c["images"], rgb), True, c["images"] * fp16),
        ("COCO", f"caption training ({c['epochs']} epochs)", hours(c["epochs"] * c["train images"], cap_train), False,
         0),
        ("COCO", "caption evaluation, 5,000 images, beam 5", hours(c["test images"], cap_beam), False, 0),
        ("TACoS ml", "CNN pass (assumed ~1.6 M frames)", hours(TACOS["frames"], rgb), True, TACOS["frames"] * fp16),
    ]
    ns = (1, 4, 16, 64)
    print("\n| data set | stage | " + " | ".join(f"{n} proc h" for n in ns) + " | cache GB | uint8 cache GB |")
    print("|---|---|" + "---:|" * (len(ns) + 2))
    shrink = bytes_per_vector(D, "uint8") / bytes_per_vector(D, "fp16")
    for name, stage, h, by_files, size in rows:
        # the feature passes split by file (measured efficiency); DDP training is assumed linear (not measured)
        cells = [h / (n * efficiency if by_files and n > 1 else n) for n in ns]
        small = size if "flow (DIS" in stage else size * shrink  # flow images stay JPEG
        print(f"| {name} | {stage} | " + " | ".join(f"{x:.1f}" if x >= 1 else f"{x:.2g}" for x in cells)
              + (f" | {size / 1e9:.1f} | {small / 1e9:.1f} |" if size else " | - | - |"))
    print(f"\nCOCO's 5,000 test images captioned with beam 5: {c['test images'] / cap_beam / 60:.1f} min in 1 process.")
    print(f"N processes: each with 2 cores like this machine. Feature and flow passes split by file, at the split "
          f"efficiency measured above ({efficiency:.0%}); training under DDP assumed linear (inter-node all-reduce was "
          "not measured here). Retrieval at full size: bench/bench_retrieval.py (1,000 images x 5,000 captions).")


if __name__ == "__main__":
    main()
