"""Where the frozen CNN runs on frames: PyTorch (the reference, any device, fine-tuning), OpenVINO or ONNX Runtime
(CPU inference engines that run the same network, converted once and kept under the cache root).

An engine is a function (N, 3, S, S) uint8 frames -> (N, D) float16 features on the CPU (or the CNN's device for
PyTorch), in a precision :mod:`lrcn.device` resolved. Which engine ``--engine auto`` picks is decided there too
(OpenVINO on a CPU, PyTorch on a GPU and for a fine-tuned CNN). Measured side by side (``python
bench/bench_features.py``): on an AMX Xeon OpenVINO bf16 runs Lite0 ~3x PyTorch's bf16 autocast; on an AVX2 EPYC
OpenVINO fp32 ~5x PyTorch fp32; the figures are in the README.

Converted models are cached at ``<cache root>/engines/<key>/`` (OpenVINO IR, or an ONNX file), the key hashing the
backbone, its grid, the input size and the versions of lrcn's cache, torch and the engine; a folder is written
beside and renamed into place, so a half-written model is never read. A read-only cache root converts in memory.
Engines are imported only when used: ``lrcn classify`` on PyTorch never imports them.
"""
from __future__ import annotations

import atexit
import fcntl
import functools
import hashlib
import json
import logging
import os
import shutil
import tempfile
import threading
import warnings
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from lrcn.deploy.graph import to_onnx
from lrcn.device import autocast
from lrcn.extras import module
from lrcn.features.root import cache_root
from lrcn.features.spec import CACHE_VERSION

OV_PRECISION = {"bf16": "bf16", "fp16": "f16", "fp32": "f32"}
Engine = Callable[[torch.Tensor], torch.Tensor]  # (N, 3, S, S) uint8 -> (N, D) float16
log = logging.getLogger(__name__)


def torch_engine(backbone: torch.nn.Module, precision: str) -> Engine:
    device = next(backbone.parameters()).device

    @torch.inference_mode()
    def run(frames: torch.Tensor) -> torch.Tensor:
        with autocast(device, precision):
            x = frames.to(device, non_blocking=True).contiguous(memory_format=torch.channels_last)
            out = backbone(x).to(torch.float16)
        return out

    return run


def openvino_engine(build: Callable[[], torch.nn.Module], size: int, precision: str, key: str,
                    root: Path | None) -> Engine:
    ov = module("openvino")

    def convert(folder: Path) -> None:
        x = torch.zeros(1, 3, size, size, dtype=torch.uint8)
        traced = torch.jit.trace(build(), x, check_trace=False)  # 5x faster than letting OpenVINO trace (it checks)
        model = ov.convert_model(traced, example_input=x, input=[(-1, 3, size, size)])  # a dynamic batch
        ov.save_model(model, folder / "model.xml", compress_to_fp16=False)

    folder = _converted(root, f"openvino-{ov.__version__.split('-')[0]}-{key}", convert)
    # No pinning: OpenVINO pins its threads to cores from the first, so two processes on one machine (torchrun
    # ranks, a server beside a training) shared one core: 83 + 83 frames/s against 176 + 178 unpinned (224 px).
    config = {"INFERENCE_PRECISION_HINT": OV_PRECISION[precision], "INFERENCE_NUM_THREADS": torch.get_num_threads(),
              "PERFORMANCE_HINT": "LATENCY", "ENABLE_CPU_PINNING": False}
    compiled = ov_core().compile_model(str(folder / "model.xml"), "CPU", config)
    ran = compiled.get_property("INFERENCE_PRECISION_HINT").get_type_name()  # "bf16", "f16", "f32"
    if ran != OV_PRECISION[precision]:  # lrcn.device read this CPU otherwise than OpenVINO's plugin does
        log.warning("warning: OpenVINO computes the CNN in %s on this CPU, not %s as lrcn.device chose", ran,
                    OV_PRECISION[precision])
    request, lock = compiled.create_infer_request(), threading.Lock()  # one request: a server's threads take turns

    def run(frames: torch.Tensor) -> torch.Tensor:
        with lock:
            out = request.infer({0: np.ascontiguousarray(frames.numpy())}, share_inputs=True)[0]  # (N, D) float32
            return torch.from_numpy(np.asarray(out, np.float16))

    return run


@functools.cache
def ov_core():
    """The process's one OpenVINO Core, kept for its life. The CPU plugin gives the thread that compiles a model an
    alternate signal stack and unmaps it when the plugin is released, from whichever thread releases it: with a Core
    per engine, an engine freed on another thread left the main thread's signal stack unmapped, and its next signal
    (a child's SIGCHLD) was a SIGSEGV (two demos of two; tests/test_engines.py reproduces it)."""
    return module("openvino").Core()


def onnxruntime_engine(build: Callable[[], torch.nn.Module], size: int, key: str, root: Path | None) -> Engine:
    ort = module("onnxruntime")

    def convert(folder: Path) -> None:
        to_onnx(build(), (torch.zeros(2, 3, size, size, dtype=torch.uint8),), folder / "model.onnx",
                {"frames": ["batch", 3, size, size]}, {"features": None})

    folder = _converted(root, f"onnxruntime-{ort.__version__}-{key}", convert)
    options = ort.SessionOptions()
    options.intra_op_num_threads = torch.get_num_threads()
    session = ort.InferenceSession(str(folder / "model.onnx"), options, providers=["CPUExecutionProvider"])

    def run(frames: torch.Tensor) -> torch.Tensor:
        out = session.run(None, {"frames": frames.numpy()})[0]  # (N, D) float32
        return torch.from_numpy(out.astype(np.float16))

    return run


def model_key(fields: dict) -> str:
    """A converted model's name: its backbone, grid and input size, lrcn's cache version and torch's version."""
    blob = json.dumps({"version": CACHE_VERSION, "torch": torch.__version__, **fields}, sort_keys=True)
    return f"{fields['backbone']}-{fields['image_size']}-{hashlib.sha1(blob.encode()).hexdigest()[:10]}"


def _quiet(convert: Callable[[Path], None]) -> Callable[[Path], None]:
    """``convert`` without the tracer's warnings (they concern PyTorch's tracing, not the user's data)."""

    def run(folder: Path) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            convert(folder)

    return run


def _converted(root: Path | None, name: str, convert: Callable[[Path], None]) -> Path:
    """The folder of a converted model under ``root/engines``, converted first if missing: by one process at a time
    (a lock file; the others then find it), written beside and renamed into place. A root that cannot be written
    converts into a temporary folder for this process."""
    folder = cache_root(root) / "engines" / name
    if folder.is_dir():
        return folder
    convert = _quiet(convert)
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        lock = open(folder.parent / f".{name}.lock", "w")
    except OSError as e:
        log.info("cannot cache the converted CNN in %s (%s): converting in memory", folder.parent, e.strerror or e)
        tmp = Path(tempfile.mkdtemp(prefix="lrcn-engine-"))
        atexit.register(shutil.rmtree, tmp, True)
        convert(tmp)
        return tmp
    with lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if not folder.is_dir():
            tmp = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{name}."))
            try:
                log.info("converting the CNN for %s (once; kept in %s)", name.split("-")[0], folder)
                convert(tmp)
                os.replace(tmp, folder)
            finally:
                shutil.rmtree(tmp, ignore_errors=True)
    return folder
