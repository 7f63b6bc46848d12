"""The figures of ``bench/gpu_check.py``: each measured on the device checked and on this machine's CPU in the same
run, with the FLOPs of one unit (torch's FLOP counter), so that each is also a share of the device's bf16
matrix-product rate (``lrcn.doctor.matmul_rate``).

A figure is a :class:`Figure`; ``key`` names it in the JSON that ``bench/project.py --gpu`` reads. ``Sizes`` holds
the sizes of one run: the full ones for a GPU, small ones for the CPU half (``--quick``).
"""
from __future__ import annotations

import functools
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch.utils.flop_counter import FlopCounterMode

from bench_activity import finetuning, head_rate, sync, training_flops
from lrcn.device import choose_precision, loader_workers, pin_memory
from lrcn.doctor import flops_per_frame
from lrcn.features.engines import torch_engine
from lrcn.models.backbones import create_backbone

CPU = torch.device("cpu")
D = 1280 * 9  # a 3x3 grid of Lite0's features


@dataclass
class Sizes:
    image: int = 224
    batches: tuple[int, ...] = (32, 64, 128, 256)
    seconds: float = 2.0  # each rate is timed for about this long
    finetune_batch: int = 4  # clips of 16 frames
    retrieval_images: tuple[int, int] = (200, 10)  # (on the device, on the CPU) x retrieval_captions
    retrieval_captions: int = 5000
    video_frames: int = 250  # classify: a 10 s, 25 fps, 320x240 video
    pass_videos: int = 2  # per class of the 12 synthetic actions (24 frames each): the feature pass and flow
    compile: bool = True


QUICK = Sizes(image=64, batches=(8, 16), seconds=0.5, retrieval_images=(8, 8), retrieval_captions=256, video_frames=50,
              pass_videos=1, compile=False)


@dataclass
class Figure:
    key: str
    name: str
    unit: str  # "frames/s", ...; "s" for a time per item (lower is better)
    device: float | None  # on the device checked (None: not run there)
    cpu: float | None
    flops: float | None = None  # per unit (per item for "s": the work of one)
    notes: list[str] = field(default_factory=list)


def rate(fn, units: float, seconds: float) -> float:
    """``units`` per second of ``fn()``, after one warm-up call, timed for about ``seconds``."""
    fn()
    sync()
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds or count == 0:
        fn()
        sync()
        count += 1
    return units * count / (time.perf_counter() - start)


def counted(fn) -> float:
    """The FLOPs of ``fn()`` (convolutions and matrix products)."""
    counter = FlopCounterMode(display=False)
    with counter:
        fn()
    return float(counter.get_total_flops())


def lite0(device: torch.device, memory_format=torch.channels_last) -> torch.nn.Module:
    return create_backbone("efficientnet_lite0", pretrained=False, grid=3, frozen=True).eval().to(
        device, memory_format=memory_format)


@functools.cache
def frame_flops(size: int) -> float:
    return flops_per_frame(lite0(CPU), size)


def beside(device: torch.device, measure):
    """``measure(CPU)``, the CPU's figure beside the device's; None when the device checked is the CPU itself."""
    return None if device.type == "cpu" else measure(CPU)


def host_frames(batch: int, size: int, device: torch.device) -> torch.Tensor:
    """(batch, 3, S, S) uint8 on the host, page-locked for a GPU (as the feature cache hands them over)."""
    frames = torch.randint(0, 256, (batch, 3, size, size), dtype=torch.uint8)
    return frames.pin_memory() if pin_memory(device) else frames


def cnn(device: torch.device, s: Sizes, cpu_engine) -> list[Figure]:
    """The frozen CNN's frames/s (PyTorch, channels-last, from host frames) in bf16 and fp16 at each batch size (on a
    CPU: at auto's precision), beside the CPU's default engine at the same batch; on a GPU also NCHW and
    torch.compile at batch 128."""
    per_frame = frame_flops(s.image)
    cpu_rates = {b: rate(lambda b=b: cpu_engine(host_frames(b, s.image, CPU)), b, s.seconds) for b in s.batches}
    out, net = [], lite0(device)
    precisions = ("bf16", "fp16") if device.type == "cuda" else (choose_precision("auto", device, "cnn").value,)
    for precision in precisions:
        engine = torch_engine(net, precision)
        for b in s.batches:
            frames = host_frames(b, s.image, device)
            out.append(Figure(f"cnn_{precision}_b{b}", f"CNN pass, {s.image} px, {precision}, batch {b}", "frames/s",
                              rate(lambda: engine(frames), b, s.seconds), cpu_rates[b], per_frame))
    if device.type == "cuda":
        b = 128
        frames = host_frames(b, s.image, device)
        nchw = lite0(device, torch.contiguous_format)

        def contiguous():
            with torch.inference_mode(), torch.autocast("cuda", torch.bfloat16):
                nchw(frames.to(device, non_blocking=True))

        out.append(Figure("cnn_bf16_b128_nchw", "CNN pass, bf16, batch 128, NCHW (not channels-last)", "frames/s",
                          rate(contiguous, b, s.seconds), None, per_frame))
        if s.compile:
            compiled = torch_engine(torch.compile(net), "bf16")
            start = time.perf_counter()
            compiled(frames)  # compiles
            note = f"compiling took {time.perf_counter() - start:.0f} s"
            out.append(Figure("cnn_bf16_b128_compiled", "CNN pass, bf16, batch 128, torch.compile", "frames/s",
                              rate(lambda: compiled(frames), b, s.seconds), None, per_frame, [note]))
    return out


def training(device: torch.device, s: Sizes) -> list[Figure]:
    """LRCN training on cached features (batches of 24 clips) and end-to-end fine-tuning, at auto's precision."""
    def precision(d):
        return choose_precision("auto", d, "train").value

    frames = torch.randint(0, 256, (16 * s.finetune_batch, 3, s.image, s.image), dtype=torch.uint8)

    def tune(d):
        return finetuning("efficientnet_lite0", frames, s.finetune_batch, precision(d), d)

    def lrcn(d):
        return head_rate(D, 24, precision(d), d)

    return [
        Figure("lrcn_train", "LRCN training on cached features (24 x 16 frames, D 11520)", "clips/s",
               lrcn(device), beside(device, lrcn), training_flops(D)),
        Figure("finetune", f"fine-tuning CNN + LRCN, {s.image} px, {s.finetune_batch} x 16 frames", "clips/s",
               tune(device), beside(device, tune), 3 * 16 * frame_flops(s.image) + training_flops(D)),
    ]


def captioning(device: torch.device, s: Sizes) -> list[Figure]:
    """Caption training on cached features and beam-5 decoding (LRCN2f, COCO-sized vocabulary), images/s."""
    from project import caption_rates

    def rates(d):
        return caption_rates(D, choose_precision("auto", d, "train").value, device=d)

    (train, beam), (cpu_train, cpu_beam) = rates(device), beside(device, rates) or (None, None)
    flops = caption_flops()
    return [Figure("caption_train", "caption training on cached features (20 images x 5 captions)", "images/s",
                   train, cpu_train, flops["train"]),
            Figure("caption_beam5", "caption decoding, beam 5", "images/s", beam, cpu_beam, flops["beam"])]


def caption_flops(batch: int = 4) -> dict[str, float]:
    """FLOPs per image of caption training (forward + backward) and of beam-5 decoding, as caption_rates runs them."""
    from lrcn.models.captioner import CaptionModelConfig, ImageCaptioner
    from lrcn.models.decoding import beam_search

    model = ImageCaptioner(D, 10_000, CaptionModelConfig())
    feats, words = torch.randn(batch, D), torch.randint(4, 10_000, (5 * batch, 12))

    def step():
        logits = model.captioner(model.encode(feats).repeat_interleave(5, 0), words)
        torch.nn.functional.cross_entropy(logits.flatten(0, 1), words.flatten()).backward()

    with torch.no_grad():
        beam = counted(lambda: beam_search(model.captioner, model.encode(feats), 1, 2, beam_size=5, max_len=20))
    return {"train": counted(step) / batch, "beam": beam / batch}


def retrieval(device: torch.device, s: Sizes) -> Figure:
    """log p(caption | image) pairs/s (LRCN2f, width 256, 5000 captions as a Flickr30k test split; auto's precision;
    eager)."""
    from bench_retrieval import captions
    from lrcn.models.captioner import Captioner
    from lrcn.models.pair_score import pair_logprob

    torch.manual_seed(0)
    model = Captioner(100, 256, "lrcn2f", embed_dim=256, hidden=256).eval()
    inputs, targets = (t[: s.retrieval_captions] for t in captions(100))

    def pairs_per_s(d: torch.device, images: int) -> float:
        m, cond = model.to(d), torch.randn(images, 256, device=d)
        return rate(lambda: pair_logprob(m, cond, inputs, targets, 0, compile=False), images * len(targets), s.seconds)

    cpu = beside(device, lambda d: pairs_per_s(d, s.retrieval_images[1]))
    flops = counted(lambda: pair_logprob(model.cpu(), torch.randn(1, 256), inputs, targets, 0, "fp32", compile=False))
    return Figure("retrieval", f"retrieval scoring, LRCN2f width 256 (x {len(targets)} captions)", "pairs/s",
                  pairs_per_s(device, s.retrieval_images[0]), cpu, flops / len(targets))


def classify(run: Path, device: torch.device, s: Sizes) -> Figure:
    """Seconds to classify a 10 s 25 fps 320x240 video with a trained run (model loaded; decoding included)."""
    import lrcn
    from lrcn.data.video import write_video

    with tempfile.TemporaryDirectory() as tmp:
        video = Path(tmp) / "ten_seconds.avi"
        write_video(video, np.random.default_rng(0).integers(0, 256, (s.video_frames, 240, 320, 3), dtype=np.uint8))
        def seconds(d: torch.device) -> float:
            predictor = lrcn.load(run, device=str(d))
            return 1 / rate(lambda: predictor.predict(video), 1, s.seconds)

        on_device, on_cpu = seconds(device), beside(device, seconds)
    size = lrcn.load(run, device="cpu").info()["config"]["features"]["image_size"]
    return Figure("classify_10s", f"lrcn classify of a {s.video_frames / 25:.0f} s video ({size} px run)", "s",
                  on_device, on_cpu, s.video_frames * frame_flops(size))


def feature_pass(device: torch.device, s: Sizes) -> list[Figure]:
    """The whole feature pass (decode + CNN, real-format 320x240 videos, workers sized from the machine) and DIS
    optical flow in as many workers (frames/s): the rates bench/project.py bills UCF101 by."""
    from lrcn.data.flow import FlowCache
    from lrcn.data.synthetic.actions import write_actions
    from lrcn.features.cache import FeatureCache
    from lrcn.features.spec import FeatureConfig

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        paths = sorted(write_actions(tmp / "actions", seed=0, videos_per_class=s.pass_videos, num_frames=24)
                       .glob("*/*.avi"))

        def frames_per_s(d: torch.device) -> float:
            fc = FeatureCache(tmp / f"cache-{d.type}", FeatureConfig(image_size=s.image).spec(device=d), device=d)
            fc.build(paths, description=f"feature pass on {d.type}")
            return fc.stats.frames / fc.stats.seconds

        workers = int(loader_workers(None, CPU).value)
        start = time.perf_counter()
        FlowCache(tmp / "flow").build(paths, workers=workers)
        flow = 24 * len(paths) / (time.perf_counter() - start)
        return [Figure("feature_pass", f"feature pass (decode + CNN), {s.image} px, workers sized here", "frames/s",
                       frames_per_s(device), beside(device, frames_per_s), frame_flops(s.image),
                       [f"{int(loader_workers(None, device).value)} decoding workers on {device.type}"]),
                Figure("flow_dis", f"DIS optical flow, 320x240, {workers} CPU workers", "frames/s", None, flow)]
