"""The bill for the real data sets, from rates measured in this run on this machine.

Measured here, now: the whole feature pass (decode + CNN, 224 px, real-format 320x240 MPEG-4 videos) with the
default engine and with PyTorch (--engine torch, at the precision auto picks here); DIS optical flow in 2 worker
processes; the scaling of the sharded pass from 1 to 2 processes of one thread each (``torchrun``); LRCN training on cached features
and end-to-end fine-tuning (clips/s); caption training on cached features and beam-5 decoding (images/s). Then
UCF101 split 1 (RGB + flow + fusion, frozen and --finetune), COCO captioning (Karpathy split) and TACoS multilevel in
hours and gigabytes, for 1 process (this machine's 2 cores) and for N such processes (each with 2 cores).

With ``--gpu FILE`` (the JSON of ``bench/gpu_check.py`` run on a GPU machine), the same bill on one GPU and on 8,
from that run's figures: the whole feature pass there (decoding in its CPU workers), its DIS flow, LRCN training,
fine-tuning and captioning on the GPU.

Usage: python bench/project.py [--videos 2] [--skip-finetune] [--gpu gpu_check.json]
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
from bench_activity import finetuning, head_rate, timed, trainer_step  # noqa: E402
from bench_features import features_pass  # noqa: E402

from lrcn.device import choose_precision  # noqa: E402
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


def caption_rates(feature_dim: int, precision: str, batch: int = 20, device: torch.device = torch.device("cpu")
                  ) -> tuple[float, float]:
    """(caption training images/s on cached features in ``precision``, beam-5 decoding images/s), LRCN2f at the
    default width, on ``device``."""
    from lrcn.models.captioner import CaptionModelConfig, ImageCaptioner
    from lrcn.models.decoding import beam_search

    vocab = 10_000  # COCO's vocabulary at min_count 5 is ~9-10k words
    model = ImageCaptioner(feature_dim, vocab, CaptionModelConfig()).to(device)
    feats = torch.randn(batch, feature_dim, device=device)
    owner = torch.arange(batch, device=device).repeat_interleave(COCO["captions/image"])
    words = torch.randint(4, vocab, (len(owner), 12), device=device)
    train_step = trainer_step(model, precision, device)

    def step():
        train_step(lambda: torch.nn.functional.cross_entropy(
            model.captioner(model.encode(feats)[owner], words).float().flatten(0, 1), words.flatten()))

    train = batch / timed(step, 3)
    with torch.inference_mode():
        cond = model.encode(feats)
        beam = batch / timed(lambda: beam_search(model.captioner, cond, 1, 2, beam_size=5, max_len=20), 1)
    return train, beam


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--videos", type=int, default=2, help="videos per class of the timed pass (12 classes x 24 frames)")
    ap.add_argument("--skip-finetune", action="store_true")
    ap.add_argument("--gpu", type=Path, help="bench/gpu_check.py's JSON: the bill on one GPU and on 8 beside this one")
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
    print_bill(bill(rgb, flow, head, tune, cap_train, cap_beam), (1, 4, 16, 64), "proc", efficiency)
    print(f"\nCOCO's 5,000 test images captioned with beam 5: {COCO['test images'] / cap_beam / 60:.1f} min in 1 process.")
    print(f"N processes: each with 2 cores like this machine. Feature and flow passes split by file, at the split "
          f"efficiency measured above ({efficiency:.0%}); training under DDP assumed linear (inter-node all-reduce was "
          "not measured here). Retrieval at full size: bench/bench_retrieval.py (1,000 images x 5,000 captions).")
    if args.gpu:
        name, rates = gpu_rates(args.gpu)
        print(f"\nOn a GPU ({name}; bench/gpu_check.py's figures in {args.gpu}): feature pass {rates['rgb']:.0f} "
              f"frames/s (decoding in that machine's CPU workers), DIS flow {rates['flow']:.0f} frames/s (its CPU), LRCN "
              f"{rates['head']:.0f} clips/s, fine-tuning {rates['tune']:.1f} clips/s, captioning "
              f"{rates['cap_train']:.0f} images/s training, {rates['cap_beam']:.0f} images/s beam 5.")
        print_bill(bill(**rates), (1, 8), "GPU", 1.0)
        print("8 GPUs: 8 processes each with that machine's rates (its CPU cores too: decoding and flow run there), "
              "the passes split by file and DDP training assumed linear; neither was measured on 8 GPUs.")


def bill(rgb: float, flow: float, head: float, tune: float, cap_train: float, cap_beam: float) -> list[tuple]:
    """The stages of UCF101 split 1, COCO and TACoS at these rates: (data set, stage, hours in 1 process, split by
    file?, bytes of cache)."""
    hours = lambda n, rate: n / rate / 3600  # noqa: E731
    u, c = UCF101, COCO
    clips = u["epochs"] * u["train videos"] * u["clips/video"]
    test_clips = u["test videos"] * u["test clips"]
    fp16 = bytes_per_vector(D, "fp16")
    return [
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


def print_bill(rows: list[tuple], ns: tuple[int, ...], unit: str, efficiency: float) -> None:
    """The bill's table for 1 and N processes (``unit``: "proc", "GPU"); the passes split by file at ``efficiency``,
    training linear."""
    print("\n| data set | stage | " + " | ".join(f"{n} {unit} h" for n in ns) + " | cache GB | uint8 cache GB |")
    print("|---|---|" + "---:|" * (len(ns) + 2))
    shrink = bytes_per_vector(D, "uint8") / bytes_per_vector(D, "fp16")
    for name, stage, h, by_files, size in rows:
        cells = [h / (n * efficiency if by_files and n > 1 else n) for n in ns]
        small = size if "flow (DIS" in stage else size * shrink  # flow images stay JPEG
        print(f"| {name} | {stage} | " + " | ".join(f"{x:.1f}" if x >= 1 else f"{x:.2g}" for x in cells)
              + (f" | {size / 1e9:.1f} | {small / 1e9:.1f} |" if size else " | - | - |"))


def gpu_rates(path: Path) -> tuple[str, dict[str, float]]:
    """(the GPU's name, the rates :func:`bill` takes) from ``bench/gpu_check.py``'s JSON; SystemExit with one line for
    a file that holds no GPU's figures."""
    import json

    try:
        result = json.loads(Path(path).read_text())
        figures = result["figures"]
        if result["device"] != "cuda":
            raise SystemExit(f"{path}: a --device {result['device']} run of bench/gpu_check.py, not a GPU's figures")
        rates = {"rgb": figures["feature_pass"]["device"], "flow": figures["flow_dis"]["cpu"],
                 "head": figures["lrcn_train"]["device"], "tune": figures["finetune"]["device"],
                 "cap_train": figures["caption_train"]["device"], "cap_beam": figures["caption_beam5"]["device"]}
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise SystemExit(f"{path}: not a result of bench/gpu_check.py ({type(e).__name__}: {e})") from None
    gpu = next((line.removeprefix("GPU: ") for line in result["header"] if line.startswith("GPU: ")), "GPU")
    return gpu, rates

if __name__ == "__main__":
    main()
