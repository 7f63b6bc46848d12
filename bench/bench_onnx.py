"""The ONNX runner's speed (examples/onnx/classify.py: ONNX Runtime's CPU provider, and OpenVINO reading the same
.onnx files) beside ``lrcn classify``'s (``lrcn.load(RUN).predict_many``, its engine and precision as auto picks them
here), on the same videos in the same process, with each one's max |Δp| from lrcn's answer.

Frames/s of video end to end after loading: decoding, the CNN on every frame, the LSTM over every test clip (16
frames every 8), the clip average. The runner's graphs are fp32; lrcn's CNN runs what ``auto`` resolves to here
(bf16 on a CPU with bf16 dot products, else fp32), so its |Δp| is the bf16 one there. First answer: from the folder
to the answer for the first video (weights read, sessions or engine built, that video classified), in this process.

Usage: python bench/bench_onnx.py [--run RUN] [--size 128] [--videos 2] [--repeat 3]
(without --run, a throwaway activity run is trained on a tiny synthetic set first, at --size pixels; the videos are
10-second 25 fps 320x240 ones, 250 frames each).
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

from lrcn.doctor import header

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent / "examples" / "onnx")]  # the benches beside, the runner
ALL = 10_000  # top-k: every class, so that |Δp| compares whole distributions


def timed(fn) -> tuple[float, object]:
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def main() -> None:
    from bench_activity import throwaway_run
    from bench_watch import moving_video
    from classify import classify
    from lrcn_export import PROVIDERS, Export

    import lrcn
    from lrcn.bundle import export

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--run", type=Path, help="a trained activity run")
    ap.add_argument("--size", type=int, default=128, help="image size of the throwaway run (the demo's: 128)")
    ap.add_argument("--videos", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    print("\n".join(header()))  # the machine first: every figure below is this one's
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        run = args.run or throwaway_run(tmp, args.size)
        out = export(run, tmp / "export", "onnx")
        videos = [str(moving_video(tmp / f"video{i}.avi")) for i in range(args.videos)]
        frames = 250 * len(videos)
        t0 = time.perf_counter()
        predictor = lrcn.load(run, device="cpu", top_k=ALL)
        predictor.predict(videos[0])  # the engine is built on the first call
        loads, answers = {"lrcn": time.perf_counter() - t0}, {}
        spec = predictor.streams[0].extractor.spec
        names = {"lrcn": f"lrcn classify ({spec.engine} {spec.precision})"}
        ways = {"lrcn": lambda: predictor.predict_many(videos)}
        for provider in PROVIDERS:
            t0 = time.perf_counter()
            runner = Export(out, "activity", provider)
            classify(runner, videos[0], ALL)
            loads[provider], names[provider] = time.perf_counter() - t0, f"runner, {provider} fp32"
            ways[provider] = lambda runner=runner: [classify(runner, v, ALL) for v in videos]
        rates: dict[str, list[float]] = {k: [] for k in ways}
        for _ in range(args.repeat):  # interleaved, so that the machine's load hits each alike
            for key, way in ways.items():
                seconds, answers[key] = timed(way)
                rates[key].append(frames / seconds)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; {spec.backbone} at {spec.image_size} px "
          f"(decoded at {spec.decode_size}); {len(videos)} videos of 250 frames (320x240, 25 fps); median of "
          f"{args.repeat} runs")
    lrcn_probs = [{t["label"]: t["score"] for t in a["top"]} for a in answers["lrcn"]]
    for key, rate in rates.items():
        probs = [{t["label"]: t["score"] for t in a["top"]} for a in answers[key]]
        delta = max(abs(p[k] - q[k]) for p, q in zip(probs, lrcn_probs) for k in q)
        print(f"  {names[key]:32s} {statistics.median(rate):7.1f} frames/s   first answer {loads[key]:5.2f} s   max |Δp| "
              f"from lrcn {delta:.1e}")
    print(f"  [{run}]")


if __name__ == "__main__":
    main()
