"""The one place that picks a device, its precisions and the CNN's engine, from what the hardware does natively.

``--device auto|cpu|cuda|mps``: CUDA when there is a GPU, else Apple's MPS, else the CPU.

Every precision option defaults to ``auto``, resolved here for its use (:func:`choose_precision`):

- on a CPU, bf16 where it has bf16 dot products (AVX512_BF16 or AMX), else fp32; retrieval's pair scoring takes
  int8 products where the CPU has int8 dot products (VNNI or AMX-INT8). Without them these products are emulated:
  on an AVX2-only CPU torch's bf16 products ran at 0.3 GFLOP/s against fp32's 99, int8 at 1.8, and ``nn.LSTM``
  under bf16 autocast has no oneDNN kernel at all;
- on a CUDA GPU, bf16 from Ampere (sm_80) on, fp16 before (training then scales its loss: Lightning's 16-mixed);
- on MPS, fp32 (reduced precision on Apple's GPUs is unmeasured).

An explicit choice the hardware cannot run natively is run in what it can (bf16 asked on an AVX2 CPU runs fp32) with
one warning line saying so: never a crash, never silently 100x slower. A run records what each ``auto`` resolved to
and why (``resolved`` in its ``config.yaml``); a feature's cache key holds the precision that actually ran.

``--engine auto`` (:func:`choose_engine`): OpenVINO on a CPU (the fastest engine measured on both kinds of CPU:
AMX and AVX2), PyTorch on a GPU; any CNN, fine-tuned ones too.

``--workers`` left unset (:func:`loader_workers`): the decoding processes of the feature pass and of fine-tuning's
batches, sized from the cores this process may use and the device they feed; :func:`prefetch` is how many batches
each keeps ready.
"""
from __future__ import annotations

import contextlib
import functools
import importlib.util
import logging
import os
from dataclasses import dataclass

import torch

from lrcn import hardware
from lrcn.errors import LrcnError

DEVICES = ("auto", "cpu", "cuda", "mps")
PRECISIONS = ("auto", "bf16", "fp16", "fp32")  # the CNN's and training's
SCORE_PRECISIONS = ("auto", "int8", "bf16", "fp32")  # retrieval's pair-scoring products
ENGINES = ("auto", "torch", "openvino", "onnxruntime")
_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Choice:
    """What an option resolved to on this machine, and why."""

    value: str | int  # an int for --workers
    why: str
    asked: str
    changed: bool = False  # an explicit choice this hardware cannot run natively, run in ``value`` instead

    def line(self, option: str) -> str:
        """ "--precision auto -> fp32: this CPU has no bf16 dot products (AVX2)" """
        return f"{option} {self.asked} -> {self.value}: {self.why}"

    def record(self) -> dict:
        return {"asked": self.asked, "value": self.value, "why": self.why}


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


def native(precision: str, device: torch.device) -> tuple[bool, str]:
    """Whether ``device`` computes ``precision``'s products in hardware, and the fact that says so."""
    if precision == "fp32":
        return True, "fp32"
    if device.type == "cpu":
        cpu = hardware.cpu()
        found = cpu.dot_products(precision)  # the features that give them (AVX512_VNNI for int8, say)
        fact = found[0] if found else cpu.isa
        return bool(found), f"this CPU {'has' if found else 'has no'} {precision} dot products ({fact})"
    if device.type == "cuda":
        gpu = hardware.gpu(device)
        sm = f"{gpu.name}, sm_{gpu.capability[0]}{gpu.capability[1]}"
        if precision == "int8":
            return False, f"int8 scores pairs on a CPU only ({sm})"
        has = precision == "fp16" or gpu.bf16
        return has, f"this GPU {'has' if has else 'has no'} {precision} tensor cores ({sm})"
    return True, f"{device.type}: as asked"


def choose_precision(asked: str, device: torch.device, use: str = "train") -> Choice:
    """``asked`` (``auto`` or a precision) for ``use`` on ``device``: "train" (mixed precision of training), "cnn"
    (the CNN's autocast or an engine's inference precision) or "score" (retrieval's pair products)."""
    choices = SCORE_PRECISIONS if use == "score" else PRECISIONS
    if asked not in choices:
        raise LrcnError(f"precision {asked!r}: choose from {', '.join(choices)}")
    if asked == "auto":
        return _auto(device, use)
    ok, why = native(asked, device)
    if ok:
        return Choice(asked, why, asked)
    if use == "score" and device.type != "cpu":
        raise LrcnError(f"--precision {asked}: {why}; on {device.type} use bf16 or auto")
    fallback = "fp16" if device.type == "cuda" and use != "score" else "fp32"
    choice = Choice(fallback, f"{why}; running {fallback}", asked, changed=True)
    _warn_once(f"warning: precision {asked} is not native here: {choice.why}")
    return choice


def _auto(device: torch.device, use: str) -> Choice:
    order = ("int8", "bf16") if use == "score" and device.type == "cpu" else ("bf16",)
    if device.type == "mps":
        return Choice("fp32", "Apple's MPS: reduced precision is unmeasured there", "auto")
    for precision in order:
        ok, why = native(precision, device)
        if ok:
            return Choice(precision, why, "auto")
    fallback = "fp16" if device.type == "cuda" and use != "score" else "fp32"
    return Choice(fallback, native(order[-1], device)[1], "auto")


def choose_engine(asked: str, device: torch.device) -> Choice:
    """``--engine`` on ``device``: auto is OpenVINO on a CPU (PyTorch if it is not installed), PyTorch on a GPU, for
    any CNN, fine-tuned ones too (a conversion is checked against PyTorch: :mod:`lrcn.features.engines`)."""
    if asked not in ENGINES:
        raise LrcnError(f"--engine {asked}: choose from {', '.join(ENGINES)}")
    if asked != "auto" and asked != "torch" and device.type != "cpu":
        raise LrcnError(f"--engine {asked} runs on the CPU; on --device {device.type} use --engine torch (or auto)")
    if asked != "auto":
        return Choice(asked, "as asked", asked)
    if device.type != "cpu":
        return Choice("torch", f"PyTorch runs the CNN on {device.type}", asked)
    if importlib.util.find_spec("openvino") is None:
        return Choice("torch", "OpenVINO is not installed", asked)
    return Choice("openvino", "the fastest CNN engine measured on CPUs with and without bf16", asked)


def engine_precision(engine: str, asked: str, device: torch.device) -> Choice:
    """The precision ``engine`` computes the CNN in, for ``asked``: ONNX Runtime's CPU kernels are fp32 only."""
    if engine != "onnxruntime":
        return choose_precision(asked, device, "cnn")
    if asked not in ("auto", "fp32"):
        _warn_once(f"warning: --cnn-precision {asked}: ONNX Runtime's CPU kernels run fp32")
    return Choice("fp32", "ONNX Runtime's CPU kernels run fp32", asked, changed=asked not in ("auto", "fp32"))


@functools.cache
def _warn_once(line: str) -> None:
    log.warning(line)


def autocast(device: torch.device, precision: str):
    """Mixed precision on ``device`` (a resolved precision): autocast to bf16/fp16, or a no-op context for fp32."""
    if precision not in _DTYPES and precision != "fp32":
        raise ValueError(f"autocast takes a resolved precision (bf16, fp16, fp32), not {precision!r}")
    if precision == "fp32":
        return contextlib.nullcontext()
    return torch.autocast(device.type, dtype=_DTYPES[precision])


def accelerator(device: torch.device) -> str:
    """Lightning's accelerator name for ``device``."""
    return {"cuda": "gpu"}.get(device.type, device.type)


def lightning_precision(precision: str) -> str:
    """Lightning's precision plugin for a resolved training precision (fp16 scales the loss)."""
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


def loader_workers(asked: int | None, device: torch.device) -> Choice:
    """Decoding processes for a DataLoader feeding ``device``: ``asked`` (``--workers``) when given, else from the
    cores this process may use (shared by the local ranks under torchrun): on a GPU all but one (the CNN runs on the
    GPU; one core feeds it), on a CPU a quarter, at least one (the CNN's threads take the rest; 1 on 2 cores, the
    default before). Neither was measured beyond 2 cores: ``--workers`` is the knob."""
    if asked is not None:
        return Choice(asked, "as asked", str(asked))
    local = int(os.environ.get("LOCAL_WORLD_SIZE", 1))
    cores = max(1, hardware.cpu().cores // local)
    n = max(1, cores - 1) if device.type != "cpu" else max(1, cores // 4)
    share = f"{cores} cores for this process" + (f" ({local} local ranks)" if local > 1 else "")
    return Choice(n, f"{share}: " + ("all but one feed the GPU" if device.type != "cpu" else "a quarter decode, "
                                          "the CNN's threads take the rest"), "auto")


def prefetch(device: torch.device, workers: int) -> int | None:
    """Batches each DataLoader worker keeps ready: 4 ahead of a GPU (it consumes them faster than they come),
    PyTorch's 2 on a CPU; None without workers."""
    return None if workers == 0 else 4 if device.type != "cpu" else 2
