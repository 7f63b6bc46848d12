"""The one place that picks a device and its mixed precision: ``--device auto|cpu|cuda|mps``, ``bf16|fp16|fp32``.

``auto`` takes CUDA when there is a GPU, else Apple's MPS, else the CPU. Autocast always runs on the device
the tensors are on; bf16 is the default (CPUs with AVX-512/AMX and NVIDIA GPUs since Ampere run it natively),
fp16 suits older GPUs, fp32 turns mixed precision off.
"""
from __future__ import annotations

import contextlib

import torch

from lrcn.errors import LrcnError

DEVICES = ("auto", "cpu", "cuda", "mps")
PRECISIONS = ("bf16", "fp16", "fp32")
_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}


def resolve(name: str | torch.device = "auto") -> torch.device:
    """``--device`` -> a torch.device; LrcnError if that device is not here."""
    if isinstance(name, torch.device):
        return name
    kind = str(name).split(":")[0]
    if kind not in DEVICES:
        raise LrcnError(f"--device {name}: choose from {', '.join(DEVICES)}")
    if kind == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        return torch.device("mps" if _mps_available() else "cpu")
    if kind == "cuda" and not torch.cuda.is_available():
        raise LrcnError(f"--device {name}: no CUDA GPU visible to PyTorch here (torch {torch.__version__})")
    if kind == "mps" and not _mps_available():
        raise LrcnError(f"--device {name}: Apple's MPS is not available here")
    return torch.device(name)


def _mps_available() -> bool:
    return getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available()


def autocast(device: torch.device, precision: str):
    """Mixed precision on ``device``: autocast to bf16/fp16, or a no-op context for fp32."""
    if precision not in PRECISIONS:
        raise LrcnError(f"precision {precision!r}: choose from {', '.join(PRECISIONS)}")
    if precision == "fp32":
        return contextlib.nullcontext()
    return torch.autocast(device.type, dtype=_DTYPES[precision])


def accelerator(device: torch.device) -> str:
    """Lightning's accelerator name for ``device``."""
    return {"cuda": "gpu"}.get(device.type, device.type)


def lightning_precision(precision: str) -> str:
    """Lightning's precision plugin for a training precision."""
    return {"bf16": "bf16-mixed", "fp16": "16-mixed", "fp32": "32-true"}[precision]


@contextlib.contextmanager
def threads(n: int):
    """Run the block on ``n`` CPU threads (small LSTMs stepped one at a time: one thread is faster than two
    fighting over two busy cores)."""
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def pin_memory(device: torch.device) -> bool:
    """Page-locked host batches, so copies to a GPU overlap compute (``non_blocking``)."""
    return device.type == "cuda"
