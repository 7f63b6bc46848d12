"""What this machine does natively, read once: the CPU (model, cores, the ISA features that decide which precision
is fast) and each CUDA GPU (compute capability, memory). :mod:`lrcn.device` builds its precision and engine policy
on these facts, and ``lrcn doctor`` prints the same facts, so the two cannot disagree.

The kernels' own switches are honoured: ``ONEDNN_MAX_CPU_ISA`` holds oneDNN (torch's bf16/int8 products and fused
LSTM, and OpenVINO's CPU plugin) to an ISA, and what it holds back does not count as native. So an AMX machine run
with ``ONEDNN_MAX_CPU_ISA=AVX2 ATEN_CPU_CAPABILITY=avx2`` chooses as an AVX2 machine does (and the tests use that to
cover both kinds on either).
"""
from __future__ import annotations

import functools
import os
import platform
from dataclasses import dataclass

import torch

# oneDNN's ISA levels (its ``dnnl_cpu_isa_t``), lowest first, with the features each level adds (torch's names).
_ONEDNN_LEVELS = [
    ("SSE41", ()), ("AVX", ()), ("AVX2", ("avx2",)), ("AVX2_VNNI", ("avx_vnni",)), ("AVX2_VNNI_2", ()),
    ("AVX512_CORE", ("avx512_f",)), ("AVX512_CORE_VNNI", ("avx512_vnni",)), ("AVX512_CORE_BF16", ("avx512_bf16",)),
    ("AVX10_1_512", ("avx512_fp16",)), ("AVX10_1_512_AMX", ("amx_bf16", "amx_int8")),
    ("AVX10_1_512_AMX_FP16", ("amx_fp16",)), ("AVX10_2_512", ()), ("AVX10_2_512_AMX_2", ()),
]
_ALIASES = {"AVX512_CORE_FP16": "AVX10_1_512", "AVX512_CORE_AMX": "AVX10_1_512_AMX",
            "AVX512_CORE_AMX_FP16": "AVX10_1_512_AMX_FP16"}
# The features that decide a precision, as ``lrcn doctor`` names them.
ISA_NAMES = {"avx2": "AVX2", "avx512_f": "AVX-512", "avx512_bf16": "AVX512_BF16", "amx_bf16": "AMX-BF16",
             "amx_int8": "AMX-INT8", "amx_fp16": "AMX-FP16", "avx512_vnni": "AVX512_VNNI", "avx_vnni": "AVX-VNNI",
             "neon": "NEON", "bf16": "BF16 (Arm)", "i8mm": "I8MM (Arm)"}
# The features that give a precision's dot products in hardware, widest first.
DOT_PRODUCTS = {"bf16": ("amx_bf16", "avx512_bf16"), "int8": ("amx_int8", "avx512_vnni", "avx_vnni"),
                "fp16": ("amx_fp16",)}


@dataclass(frozen=True)
class CPU:
    model: str
    arch: str  # x86_64, arm64, ...
    cores: int  # logical cores this process may use
    features: frozenset[str]  # of ISA_NAMES' keys: present and not held back by ONEDNN_MAX_CPU_ISA
    held_back: frozenset[str]  # present on the chip but held back by ONEDNN_MAX_CPU_ISA
    onednn_cap: str | None  # ONEDNN_MAX_CPU_ISA as set, or None
    aten: str  # the level of torch's vectorised kernels (ATEN_CPU_CAPABILITY caps it): DEFAULT, AVX2, AVX512, ...

    @property
    def bf16(self) -> bool:
        """bf16 dot products in hardware (AVX512_BF16 or AMX), where torch's bf16 products and LSTM run fast."""
        return bool(self.dot_products("bf16"))

    @property
    def int8(self) -> bool:
        """int8 dot products in hardware (VNNI or AMX-INT8), where ``torch._int_mm`` runs fast."""
        return bool(self.dot_products("int8"))

    def dot_products(self, precision: str) -> list[str]:
        """The features (as ``lrcn doctor`` names them) that give ``precision``'s dot products here, widest first."""
        return [ISA_NAMES[f] for f in DOT_PRODUCTS[precision] if f in self.features]

    @property
    def isa(self) -> str:
        """The widest level that decides precision, in words: "AMX", "AVX-512 BF16", "AVX-512", "AVX2", "NEON"."""
        f = self.features
        level = ("AMX" if "amx_bf16" in f else "AVX-512 BF16" if "avx512_bf16" in f else "AVX-512" if "avx512_f" in f
                 else "AVX2" if "avx2" in f else "NEON" if "neon" in f else self.arch)
        return level + (f", held to {self.onednn_cap} by ONEDNN_MAX_CPU_ISA" if self.held_back else "")


@dataclass(frozen=True)
class GPU:
    index: int
    name: str
    capability: tuple[int, int]  # CUDA compute capability
    memory_gb: float
    bf16: bool  # bf16 in hardware (Ampere, sm_80, and later)


def _capabilities() -> dict:
    """torch's view of the CPU (cpuinfo): ``torch.cpu.get_capabilities()`` where this torch has it, else its older
    private checks."""
    if hasattr(torch.cpu, "get_capabilities"):
        return dict(torch.cpu.get_capabilities())
    checks = {"avx2": "_is_avx2_supported", "avx512_f": "_is_avx512_supported", "avx512_vnni": "_is_vnni_supported",
              "avx512_bf16": "_is_avx512_bf16_supported", "amx_bf16": "_is_amx_tile_supported",
              "amx_int8": "_is_amx_tile_supported"}
    caps = {k: bool(getattr(torch.cpu, fn, lambda: False)()) for k, fn in checks.items()}
    return {**caps, "architecture": platform.machine(), "neon": platform.machine() in ("arm64", "aarch64")}


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name") or line.startswith("Model"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def onednn_allowed(cap: str | None) -> set[str] | None:
    """The features oneDNN may use under ``ONEDNN_MAX_CPU_ISA=cap``; None when nothing is held back."""
    if not cap or cap.upper() in ("ALL", "DEFAULT"):
        return None
    name = _ALIASES.get(cap.upper(), cap.upper())
    levels = [level for level, _ in _ONEDNN_LEVELS]
    if name not in levels:
        return None  # oneDNN ignores a value it does not know
    return {f for level, feats in _ONEDNN_LEVELS[: levels.index(name) + 1] for f in feats}


@functools.cache
def cpu() -> CPU:
    caps = _capabilities()
    present = {k for k in ISA_NAMES if caps.get(k) is True}
    cap = os.environ.get("ONEDNN_MAX_CPU_ISA") or os.environ.get("DNNL_MAX_CPU_ISA")
    allowed = onednn_allowed(cap)
    arm = {"neon", "bf16", "i8mm"}  # oneDNN's switch holds back x86 levels only
    features = present if allowed is None else {f for f in present if f in allowed or f in arm}
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # macOS
        cores = os.cpu_count() or 1
    return CPU(_cpu_model(), str(caps.get("architecture", platform.machine())), cores, frozenset(features),
               frozenset(present - features), cap, torch.backends.cpu.get_cpu_capability())


@functools.cache
def gpus() -> tuple[GPU, ...]:
    if not torch.cuda.is_available():
        return ()
    out = []
    for i in range(torch.cuda.device_count()):
        p = torch.cuda.get_device_properties(i)
        out.append(GPU(i, p.name, (p.major, p.minor), round(p.total_memory / 2**30, 1), p.major >= 8))
    return tuple(out)


def gpu(device: torch.device) -> GPU:
    """The facts of the CUDA device ``device``."""
    return gpus()[device.index if device.index is not None else torch.cuda.current_device()]


def describe_cpu(c: CPU | None = None) -> str:
    """One line: model, cores and the ISA level, e.g. "Intel(R) Xeon(R) Processor, 2 cores, AMX"."""
    c = c or cpu()
    return f"{c.model}, {c.cores} cores, {c.isa}"
