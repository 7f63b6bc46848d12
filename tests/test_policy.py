"""The precision and engine policy (lrcn.device) on every kind of machine, from the facts lrcn.hardware reads: an AMX
Xeon, an AVX-512 BF16 EPYC (Zen 4/5), an AVX2-only EPYC, an AVX-512 CPU with VNNI but no bf16, new and old CUDA
GPUs. The facts are stand-ins here; tests/test_cpu_kinds.py runs the real kernels held to AVX2."""
import logging
import os
import subprocess
import sys

import pytest
import torch

from lrcn import device as policy
from lrcn import hardware
from lrcn.device import choose_engine, choose_precision, engine_precision
from lrcn.errors import LrcnError
from lrcn.features.spec import FeatureConfig

pytestmark = pytest.mark.cpu_kinds  # make test runs these again held to AVX2

AMX = hardware.CPU("Xeon", "x86_64", 2, frozenset({"avx2", "avx512_f", "avx512_vnni", "avx512_bf16", "amx_bf16",
                                                   "amx_int8"}), frozenset(), None, "AVX512")
AVX2 = hardware.CPU("EPYC 7B13", "x86_64", 2, frozenset({"avx2"}), frozenset(), None, "AVX2")
CASCADE_LAKE = hardware.CPU("Xeon 8280", "x86_64", 2, frozenset({"avx2", "avx512_f", "avx512_vnni"}), frozenset(),
                            None, "AVX512")
ZEN5 = hardware.CPU("AMD EPYC", "x86_64", 2, frozenset({"avx2", "avx_vnni", "avx512_f", "avx512_vnni", "avx512_bf16"}),
                    frozenset(), None, "AVX512")
H100 = hardware.GPU(0, "H100", (9, 0), 80.0, True)
T4 = hardware.GPU(0, "T4", (7, 5), 15.0, False)
CPU, CUDA = torch.device("cpu"), torch.device("cuda")


@pytest.fixture
def machine(monkeypatch):
    """``machine(cpu, gpu=None)``: the policy reads these facts."""

    def use(cpu: hardware.CPU, gpu: hardware.GPU | None = None):
        monkeypatch.setattr(hardware, "cpu", lambda: cpu)
        monkeypatch.setattr(hardware, "gpu", lambda device: gpu)
        policy._warn_once.cache_clear()

    return use


def test_auto_is_bf16_and_int8_on_an_amx_cpu(machine):
    machine(AMX)
    assert choose_precision("auto", CPU, "train").value == "bf16"
    assert choose_precision("auto", CPU, "cnn").value == "bf16"
    assert choose_precision("auto", CPU, "score").value == "int8"
    assert choose_precision("auto", CPU).why == "this CPU has bf16 dot products (AMX-BF16)"


def test_auto_is_bf16_and_int8_on_an_avx512_bf16_cpu_without_amx(machine):
    machine(ZEN5)  # measured on one (2 cores): bf16 products 4.5x fp32's, int8 scoring 1.2x bf16's
    assert choose_precision("auto", CPU, "cnn").why == "this CPU has bf16 dot products (AVX512_BF16)"
    assert choose_precision("auto", CPU, "score").why == "this CPU has int8 dot products (AVX512_VNNI)"


def test_auto_is_fp32_everywhere_on_an_avx2_cpu(machine):
    machine(AVX2)
    for use in ("train", "cnn", "score"):
        choice = choose_precision("auto", CPU, use)
        assert (choice.value, choice.changed) == ("fp32", False), use
    assert choose_precision("auto", CPU).line("--precision") == \
        "--precision auto -> fp32: this CPU has no bf16 dot products (AVX2)"
    assert FeatureConfig().spec(device="cpu").precision == "fp32"  # what the cache keys on: what ran


def test_int8_scoring_without_bf16_where_the_cpu_has_vnni(machine):
    machine(CASCADE_LAKE)
    assert choose_precision("auto", CPU, "score").value == "int8"
    assert choose_precision("auto", CPU, "train").value == "fp32"


def test_an_explicit_precision_the_cpu_cannot_run_natively_runs_fp32_with_one_warning(machine, caplog):
    machine(AVX2)
    with caplog.at_level(logging.WARNING):
        for _ in range(3):
            choice = choose_precision("bf16", CPU, "train")
        int8 = choose_precision("int8", CPU, "score")
    assert (choice.value, choice.changed, int8.value) == ("fp32", True, "fp32")
    assert [r.getMessage() for r in caplog.records] == [
        "warning: precision bf16 is not native here: this CPU has no bf16 dot products (AVX2); running fp32",
        "warning: precision int8 is not native here: this CPU has no int8 dot products (AVX2); running fp32"]


def test_an_explicit_native_precision_runs_as_asked(machine):
    machine(AMX)
    assert choose_precision("fp32", CPU).value == "fp32" and choose_precision("bf16", CPU).value == "bf16"
    assert choose_precision("bf16", CPU, "score").value == "bf16"


def test_gpus_take_bf16_from_ampere_and_fp16_before(machine):
    machine(AVX2, H100)
    assert choose_precision("auto", CUDA).value == "bf16" and choose_precision("auto", CUDA, "score").value == "bf16"
    machine(AVX2, T4)
    assert choose_precision("auto", CUDA).value == "fp16"
    assert choose_precision("auto", CUDA, "score").value == "fp32"
    assert choose_precision("bf16", CUDA).value == "fp16"  # with a warning
    with pytest.raises(LrcnError, match="--precision int8: int8 scores pairs on a CPU only"):
        choose_precision("int8", CUDA, "score")


def test_unknown_precisions_are_refused_with_the_choices():
    with pytest.raises(LrcnError, match="precision 'fp16': choose from auto, int8, bf16, fp32"):
        choose_precision("fp16", CPU, "score")
    with pytest.raises(LrcnError, match="choose from auto, bf16, fp16, fp32"):
        choose_precision("int8", CPU, "train")


def test_the_engine_is_openvino_on_a_cpu_torch_on_a_gpu_for_any_cnn_fine_tuned_too(machine):
    machine(AVX2)
    assert choose_engine("auto", CPU).value == "openvino"
    assert choose_engine("auto", CUDA).value == "torch"
    with pytest.raises(LrcnError, match="--engine openvino runs on the CPU"):
        choose_engine("openvino", CUDA)
    assert engine_precision("onnxruntime", "auto", CPU).value == "fp32"  # its CPU kernels
    assert FeatureConfig(engine="onnxruntime").spec(device="cpu").precision == "fp32"
    assert FeatureConfig().spec(weights="abc123", device="cpu").engine == "openvino"  # checked at conversion


def test_openvino_asked_for_bf16_on_an_avx2_cpu_says_it_runs_fp32_and_keys_the_cache_so(machine, caplog):
    machine(AVX2)
    with caplog.at_level(logging.WARNING):
        spec = FeatureConfig(engine="openvino", precision="bf16").spec(device="cpu")
    assert spec.precision == "fp32" and "running fp32" in caplog.text
    machine(AMX)
    assert FeatureConfig(engine="openvino", precision="bf16").spec(device="cpu").key() != spec.key()


@pytest.mark.parametrize("cap, bf16, int8", [("AVX2", False, False), ("AVX512_CORE", False, False),
                                             ("avx512_core_vnni", False, True), ("AVX512_CORE_BF16", True, True),
                                             ("AVX512_CORE_AMX", True, True), ("AVX10_1_512_AMX", True, True)])
def test_onednns_isa_switch_holds_back_what_it_names(cap, bf16, int8):
    allowed = hardware.onednn_allowed(cap)
    assert bool(allowed & {"avx512_bf16", "amx_bf16"}) == bf16 and bool(allowed & {"avx512_vnni", "amx_int8"}) == int8
    assert hardware.onednn_allowed("ALL") is hardware.onednn_allowed(None) is hardware.onednn_allowed("NOPE") is None


def test_a_machine_held_to_avx2_reads_as_an_avx2_machine():
    env = {**os.environ, "ONEDNN_MAX_CPU_ISA": "AVX2"}
    code = "from lrcn.hardware import cpu; c = cpu(); print(c.bf16, c.int8, sorted(c.features - {'neon'}))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True).stdout
    assert out.split(maxsplit=2)[:2] == ["False", "False"], out


def test_workers_are_sized_from_the_cores_and_the_device_and_an_explicit_count_wins(machine, monkeypatch):
    sixteen = hardware.CPU("EPYC", "x86_64", 16, frozenset({"avx2"}), frozenset(), None, "AVX2")
    machine(sixteen, H100)
    assert policy.loader_workers(None, CUDA).value == 15  # all but the core that feeds the GPU
    assert policy.loader_workers(None, CPU).value == 4  # the CNN's threads take the rest
    assert policy.loader_workers(3, CUDA).value == 3 and policy.loader_workers(0, CPU).value == 0
    monkeypatch.setenv("LOCAL_WORLD_SIZE", "8")  # torchrun --nproc_per_node 8: 2 cores each
    assert policy.loader_workers(None, CUDA).value == 1
    machine(AVX2)
    monkeypatch.delenv("LOCAL_WORLD_SIZE")
    assert policy.loader_workers(None, CPU).value == 1  # 2 cores: one decodes, the default before
    assert policy.prefetch(CUDA, 4) == 4 and policy.prefetch(CPU, 1) == 2 and policy.prefetch(CPU, 0) is None
