"""Where a CNN runs on frames: PyTorch (the reference, any device, fine-tuning), OpenVINO or ONNX Runtime (CPU
inference engines that run the same network, any backbone and a run's own fine-tuned one, converted once and kept
under the cache root).

An engine is a function (N, 3, S, S) uint8 frames -> (N, D) float16 features on the CPU (or the CNN's device for
PyTorch), in a precision :mod:`lrcn.device` resolved. Which engine ``--engine auto`` picks is decided there too
(OpenVINO on a CPU, PyTorch on a GPU). Measured side by side (``python
bench/bench_features.py``): on an AMX Xeon OpenVINO bf16 runs Lite0 ~3x PyTorch's bf16 autocast; on an AVX2 EPYC
OpenVINO fp32 ~5x PyTorch fp32; the figures are in the README.

Converted models are cached at ``<cache root>/engines/<key>/`` (OpenVINO IR, or an ONNX file), the key hashing the
backbone, its weights (sha256, or a fine-tuned CNN's key), its grid, the input size and the versions of lrcn's cache,
torch and the engine; a folder is written beside and renamed into place, so a half-written model is never read. A
read-only cache root converts in memory. At conversion the engine's features (fp32) are compared with PyTorch's on a
few seeded frames; below a cosine of 0.999 for any of them, or when the model does not convert at all (an exotic
layer), PyTorch runs the CNN, with one warning line saying why.
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
from lrcn.errors import LrcnError
from lrcn.extras import module
from lrcn.features.root import cache_root
from lrcn.features.spec import CACHE_VERSION

OV_PRECISION = {"bf16": "bf16", "fp16": "f16", "fp32": "f32"}
AGREEMENT = 0.999  # the least cosine of a converted CNN's features to PyTorch's, frame by frame, at conversion
CHECK = "check.json"
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
                    root: Path | None) -> Engine | None:
    """OpenVINO running the CNN ``build`` gives, converted once; None (PyTorch runs it) if it does not convert or its
    features disagree with PyTorch's."""
    ov = module("openvino")

    def convert(folder: Path) -> None:
        x = torch.zeros(1, 3, size, size, dtype=torch.uint8)
        traced = torch.jit.trace(build(), x, check_trace=False)  # 5x faster than letting OpenVINO trace (it checks)
        model = ov.convert_model(traced, example_input=x, input=[(-1, 3, size, size)])  # a dynamic batch
        ov.save_model(model, folder / "model.xml", compress_to_fp16=False)

    folder = _converted(root, f"openvino-{ov.__version__.split('-')[0]}-{key}", convert,
                        lambda f: _openvino_run(f, "fp32"), build, size)
    return None if folder is None else _openvino_run(folder, precision)


def _openvino_run(folder: Path, precision: str) -> Engine:
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


def onnxruntime_engine(build: Callable[[], torch.nn.Module], size: int, key: str, root: Path | None
                       ) -> Engine | None:
    """ONNX Runtime running the CNN ``build`` gives, converted once; None as for :func:`openvino_engine`."""
    ort = module("onnxruntime")

    def convert(folder: Path) -> None:
        to_onnx(build(), (torch.zeros(2, 3, size, size, dtype=torch.uint8),), folder / "model.onnx",
                {"frames": ["batch", 3, size, size]}, {"features": None})

    folder = _converted(root, f"onnxruntime-{ort.__version__}-{key}", convert, _onnxruntime_run, build, size)
    return None if folder is None else _onnxruntime_run(folder)


def _onnxruntime_run(folder: Path) -> Engine:
    ort = module("onnxruntime")
    options = ort.SessionOptions()
    options.intra_op_num_threads = torch.get_num_threads()
    session = ort.InferenceSession(str(folder / "model.onnx"), options, providers=["CPUExecutionProvider"])

    def run(frames: torch.Tensor) -> torch.Tensor:
        out = session.run(None, {"frames": frames.numpy()})[0]  # (N, D) float32
        return torch.from_numpy(out.astype(np.float16))

    return run


def agreement(engine: Engine, reference: Engine, size: int) -> float:
    """The least cosine, frame by frame, of ``engine``'s features to ``reference``'s on a few seeded frames."""
    frames = torch.randint(0, 256, (4, 3, size, size), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    ours, theirs = engine(frames).float(), reference(frames).float()
    return torch.nn.functional.cosine_similarity(ours, theirs, dim=1).min().item()


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


def _converted(root: Path | None, name: str, convert: Callable[[Path], None], load: Callable[[Path], Engine],
               build: Callable[[], torch.nn.Module], size: int) -> Path | None:
    """The folder of a converted model under ``root/engines``, converted first if missing: by one process at a time
    (a lock file; the others then find it), checked against PyTorch (``check.json``: the cosine of :func:`agreement`),
    written beside and renamed into place. A root that cannot be written converts into a temporary folder for this
    process. None, with one line saying why, if the model does not convert or disagrees with PyTorch."""
    folder = cache_root(root) / "engines" / name
    if folder.is_dir():
        return _verdict(folder, name)
    convert = _checked(_quiet(convert), load, build, size)
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        lock = open(folder.parent / f".{name}.lock", "w")
    except OSError as e:
        log.info("cannot cache the converted CNN in %s (%s): converting in memory", folder.parent, e.strerror or e)
        tmp = Path(tempfile.mkdtemp(prefix="lrcn-engine-"))
        atexit.register(shutil.rmtree, tmp, True)
        return _verdict(tmp, name) if _attempt(convert, tmp, name) else None
    with lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if not folder.is_dir():
            tmp = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{name}."))
            try:
                log.info("converting the CNN for %s (once; kept in %s)", name.split("-")[0], folder)
                if not _attempt(convert, tmp, name):
                    return None
                os.replace(tmp, folder)
            finally:
                shutil.rmtree(tmp, ignore_errors=True)
    return _verdict(folder, name)


def _checked(convert: Callable[[Path], None], load: Callable[[Path], Engine], build: Callable[[], torch.nn.Module],
             size: int) -> Callable[[Path], None]:
    """``convert``, then the converted model's :func:`agreement` with PyTorch (both fp32) into ``check.json``."""

    def run(folder: Path) -> None:
        convert(folder)
        cosine = agreement(load(folder), torch_engine(build(), "fp32"), size)
        (folder / CHECK).write_text(json.dumps({"cosine": cosine, "frames": 4}))

    return run


def _attempt(convert: Callable[[Path], None], folder: Path, name: str) -> bool:
    """Whether ``convert`` wrote ``folder``; a model the engine cannot take is one line (PyTorch then runs it)."""
    try:
        convert(folder)
        return True
    except LrcnError:
        raise
    except Exception as e:  # an exotic model: tracing or the engine's converter refused it
        log.warning("warning: the CNN does not convert for %s (%s: %s): running it on PyTorch", name.split("-")[0],
                    type(e).__name__, str(e).splitlines()[0][:160] if str(e) else "")
        return False


def _verdict(folder: Path, name: str) -> Path | None:
    """``folder`` if its model agreed with PyTorch at conversion (a folder converted before checks existed holds a
    registry CNN, known to agree), else None with one line saying so."""
    check = folder / CHECK
    cosine = json.loads(check.read_text())["cosine"] if check.is_file() else 1.0
    if cosine < AGREEMENT:
        log.warning("warning: %s's features differ from PyTorch's (cosine %.4f < %g on the check frames): running the "
                    "CNN on PyTorch", name.split("-")[0], cosine, AGREEMENT)
        return None
    return folder
