"""``lrcn doctor``: the machine, the versions, and what every ``auto`` resolves to here and why, from the same facts
:mod:`lrcn.device` decides by (:mod:`lrcn.hardware`). The thing to paste into a bug report; a crash of the CLI writes
it beside the traceback (:func:`bug_report`). The benches print :func:`header` first and measure this machine's
matrix-product rates (:func:`matmul_rate`) in the same run, to give every figure as a share of that bound.
"""
from __future__ import annotations

import datetime
import importlib.metadata
import json
import os
import platform
import sys
import tempfile
import time
import traceback
from pathlib import Path

import torch

from lrcn import hardware
from lrcn.device import choose_engine, choose_precision, engine_precision, loader_workers
from lrcn.features.root import cache_root

PACKAGES = ("torch", "torchvision", "numpy", "lightning", "openvino", "onnxruntime", "av",
            "opencv-contrib-python-headless", "safetensors", "pycocoevalcap", "fastapi", "uvicorn")


def _version(package: str) -> str | None:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def machine() -> dict:
    cpu = hardware.cpu()
    names = hardware.ISA_NAMES
    try:
        memory = round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)
    except (ValueError, OSError, AttributeError):
        memory = None
    return {
        "cpu": {"model": cpu.model, "arch": cpu.arch, "cores": cpu.cores, "isa": cpu.isa,
                "features": sorted(names[f] for f in cpu.features),
                "held_back": sorted(names[f] for f in cpu.held_back),
                "onednn_max_cpu_isa": cpu.onednn_cap, "aten_cpu_capability": cpu.aten,
                "bf16": cpu.bf16, "int8": cpu.int8},
        "memory_gb": memory,
        "os": platform.platform(),
        "gpus": [{"index": g.index, "name": g.name, "capability": f"{g.capability[0]}.{g.capability[1]}",
                  "memory_gb": g.memory_gb, "bf16": g.bf16} for g in hardware.gpus()],
        "mps": bool(getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()),
    }


def versions() -> dict:
    out = {"python": platform.python_version(), "lrcn": _version("lrcn"),
           **{p.removesuffix("-contrib-python-headless"): _version(p) for p in PACKAGES}}
    out["torch_build"] = {"cuda": torch.version.cuda, "debug": torch.version.debug,
                          "onednn": ".".join(map(str, torch.backends.mkldnn.version()))
                          if hasattr(torch.backends.mkldnn, "version") else None,
                          "cpu_capability": torch.backends.cpu.get_cpu_capability()}
    if out["av"]:
        import av

        out["ffmpeg"] = getattr(av, "ffmpeg_version_info", None) or str(av.library_versions.get("libavcodec"))
    return out


def openvino_facts() -> dict | None:
    """What OpenVINO's CPU plugin reports of this CPU (it reads the chip itself: ONEDNN_MAX_CPU_ISA moves it only
    partly, so lrcn forces its fp32 path through its precision hint instead)."""
    if _version("openvino") is None:
        return None
    from lrcn.features.engines import ov_core

    core = ov_core()
    return {"optimization_capabilities": list(core.get_property("CPU", "OPTIMIZATION_CAPABILITIES")),
            "device_name": core.get_property("CPU", "FULL_DEVICE_NAME")}


def choices() -> dict:
    """What every ``auto`` resolves to on each device here, and why."""
    devices = [torch.device("cpu")] + [torch.device("cuda", g.index) for g in hardware.gpus()]
    out = {}
    for device in devices:
        engine = choose_engine("auto", device)
        picks = {"--engine": engine, "--cnn-precision": engine_precision(engine.value, "auto", device),
                 "--precision (training)": choose_precision("auto", device, "train"),
                 "eval retrieval --precision": choose_precision("auto", device, "score"),
                 "--workers": loader_workers(None, device)}
        out[str(device)] = {k: {"value": c.value, "why": c.why} for k, c in picks.items()}
    return out


def report(bench: bool = False) -> dict:
    """Every section; one that fails says how in its place (a doctor that crashes on a strange machine helps no one)."""
    sections = {"machine": machine, "versions": versions, "openvino": openvino_facts, "auto": choices}
    if bench:
        sections["bench"] = bench_engines
    out = {}
    for name, gather in sections.items():
        try:
            out[name] = gather()
        except Exception as e:  # noqa: BLE001 - reported in place
            out[name] = {"error": f"{type(e).__name__}: {' '.join(str(e).split())}"}
    return out


def matmul_rate(precision: str, device: torch.device | str = "cpu", n: int = 1024, seconds: float = 0.5) -> float:
    """This machine's (n x n) @ (n x n) rate in GFLOP/s (int8: GOP/s, ``torch._int_mm``) on ``device``: the bound
    the benches give their figures against."""
    device = torch.device(device)
    if precision == "int8":
        a = torch.randint(-127, 127, (n, n), dtype=torch.int8, device=device)
        op = lambda: torch._int_mm(a, a)  # noqa: E731
    else:
        a = torch.randn(n, n, device=device).to({"fp32": torch.float32, "bf16": torch.bfloat16,
                                                  "fp16": torch.float16}[precision])
        op = lambda: a @ a  # noqa: E731
    op()
    count, start = 0, time.perf_counter()
    while True:
        op()
        count += 1
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            return 2 * n**3 * count / elapsed / 1e9


def flops_per_frame(net: torch.nn.Module, size: int) -> float:
    """The multiply-adds x 2 of one (3, size, size) frame through ``net`` (torch's FLOP counter: convolutions and
    matrix products)."""
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False)
    with counter, torch.inference_mode():
        net(torch.zeros(1, 3, size, size, dtype=torch.uint8))
    return float(counter.get_total_flops())


def header(device: torch.device | str = "cpu") -> list[str]:
    """The first lines every bench prints: the machine (CPU, ISA, cores; GPU), torch, and what auto picks here."""
    device = torch.device(device)
    m, cpu = machine(), hardware.cpu()
    lines = [f"machine: {hardware.describe_cpu(cpu)} ({cpu.arch}); ISA {' '.join(m['cpu']['features']) or '-'}"
             + (f"; held back: {' '.join(m['cpu']['held_back'])}" if cpu.held_back else "")]
    gpus = m["gpus"]
    lines.append("GPU: " + ("; ".join(f"{g['name']} (sm {g['capability']}, {g['memory_gb']} GB)" for g in gpus)
                            if gpus else "none"))
    auto = choices()[str(device) if device.type != "cuda" else f"cuda:{device.index or 0}"]
    lines.append(f"torch {torch.__version__}, {torch.get_num_threads()} threads; auto here: "
                 + ", ".join(f"{k} {v['value']}" for k, v in auto.items()))
    return lines


def bench_engines(size: int = 224, batch: int = 32, seconds: float = 3.0) -> dict:
    """Each engine's CNN frames/s (EfficientNet-Lite0, ``size`` px, batches of ``batch``) at the precision auto picks
    on the CPU, PyTorch fp32 beside them, and each as a share of the matrix-product bound of its precision."""
    from lrcn.features.extractor import Extractor
    from lrcn.features.spec import FeatureConfig, FeatureSpec

    cpu = torch.device("cpu")
    frames = torch.randint(0, 256, (batch, 3, size, size), dtype=torch.uint8)
    rows = {}
    flops = None
    for engine, asked in (("torch", "fp32"), ("torch", "auto"), ("openvino", "auto"), ("onnxruntime", "auto")):
        if engine != "torch" and _version(engine) is None:
            continue
        spec = FeatureConfig(image_size=size, engine=engine, precision=asked).spec(device=cpu)
        name = f"{engine} {spec.precision}"
        if name in rows:
            continue
        ex = Extractor(spec, cpu)
        if flops is None:
            flops = flops_per_frame(ex.backbone.eval(), size)
        ex.embed(frames)  # warm up (and convert, once)
        count, start = 0, time.perf_counter()
        while time.perf_counter() - start < seconds:
            ex.embed(frames)
            count += batch
        rate = count / (time.perf_counter() - start)
        bound = matmul_rate(spec.precision if spec.precision != "fp16" else "fp32", cpu)
        rows[name] = {"frames_per_s": round(rate, 1), "gflops": round(rate * flops / 1e9, 1),
                      "share_of_matmul_bound": round(rate * flops / 1e9 / bound, 3), "matmul_gflops": round(bound, 1)}
    return {"backbone": FeatureSpec().backbone, "image_size": size, "batch": batch,
            "gflop_per_frame": round((flops or 0) / 1e9, 3), "engines": rows}


def bug_report(error: BaseException, where: Path | None = None) -> Path | None:
    """Write the traceback of ``error`` and this machine's doctor report to a new file; its path (None if nowhere
    could be written). In the cache root's ``crashes/`` ($LRCN_CACHE or $XDG_CACHE_HOME/lrcn), else the temporary
    folder."""
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    text = "".join(traceback.format_exception(error))
    facts = json.dumps(report(), indent=2, default=str)
    body = f"lrcn crash report, {stamp}\ncommand: {' '.join(sys.argv)}\n\n{text}\nlrcn doctor --json:\n{facts}\n"
    for folder in (where or cache_root(None) / "crashes", Path(tempfile.gettempdir())):
        try:
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / f"lrcn-crash-{stamp}-{os.getpid()}.txt"
            path.write_text(body)
            return path
        except OSError:
            continue
    return None


def bug_line(error: BaseException, report_path: Path | None) -> str:
    """The one line for a bug: what failed, that it is a bug to report, and where its full story is."""
    first = " ".join(str(error).split())
    first = first if len(first) <= 200 else first[:197] + "..."
    where = f"; the traceback and `lrcn doctor`'s report are in {report_path}" if report_path else ""
    return f"internal error ({type(error).__name__}: {first}): a bug in lrcn, please report it{where}"
