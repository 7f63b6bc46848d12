"""CNN engines (PyTorch, OpenVINO, ONNX Runtime) and the compact store: the same features, keys that tell them apart."""
import os
import subprocess
import sys

import numpy as np
import pytest
import torch

from lrcn.errors import LrcnError
from lrcn.features.cache import FeatureCache
from lrcn.features.engines import engine_name
from lrcn.features.extractor import Extractor
from lrcn.features.spec import FeatureConfig, FeatureSpec
from lrcn.features.store import bytes_per_vector, decode, encode

TINY = dict(backbone="resnet18", pretrained=False, grid=1, image_size=32)  # seeded weights: every process builds them


def cosine(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return torch.nn.functional.cosine_similarity(a.float(), b.float())


def test_every_engine_computes_the_reference_features(tmp_path):
    frames = torch.randint(0, 256, (6, 3, 32, 32), dtype=torch.uint8)
    ref = Extractor(FeatureSpec(**TINY, precision="fp32"), "cpu").embed(frames)  # (6, 512)
    for engine, precision, floor in (("onnxruntime", "fp32", 0.9999), ("openvino", "fp32", 0.9999),
                                     ("openvino", "bf16", 0.99), ("torch", "bf16", 0.99)):
        ex = Extractor(FeatureSpec(**TINY, engine=engine, precision=precision), "cpu", model_cache=tmp_path)
        feats = ex.embed(frames)
        assert feats.shape == ref.shape and feats.dtype == torch.float16
        assert cosine(feats, ref).min() > floor, (engine, precision)
    converted = [p.name for p in (tmp_path / "engines").iterdir() if p.is_dir()]
    assert len(converted) == 2  # one converted model per engine, reused by both precisions


def test_auto_is_openvino_on_a_cpu_and_torch_elsewhere_and_a_fine_tuned_cnn_stays_on_torch():
    assert engine_name("auto", torch.device("cpu")) == "openvino"
    assert engine_name("auto", torch.device("cuda")) == "torch"
    with pytest.raises(LrcnError, match="--engine openvino runs on the CPU"):
        engine_name("openvino", torch.device("cuda"))
    assert FeatureConfig().spec(device="cpu").engine == "openvino"
    assert FeatureConfig().spec(weights="abc123", device="cpu").engine == "torch"
    assert FeatureConfig(engine="onnxruntime").spec(device="cpu").precision == "fp32"  # its CPU kernels


def test_engine_and_store_are_in_the_key_only_away_from_the_old_defaults():
    old = FeatureSpec()
    assert FeatureSpec(engine="torch", store="fp16").key() == old.key()  # caches written before these fields
    keys = {old.key(), FeatureSpec(engine="openvino").key(), FeatureSpec(engine="onnxruntime").key(),
            FeatureSpec(store="uint8").key()}
    assert len(keys) == 4


def test_uint8_store_is_off_by_at_most_half_a_step_and_half_the_size():
    x = (np.random.default_rng(0).random((5, 2, 1000)) * 6).astype(np.float16)
    x[0, 0] = 3.0  # a constant vector stays exact
    stored = encode(x, "uint8")
    assert stored.dtype == np.uint8 and stored.shape == (5, 2, 1008)
    back = decode(stored, "uint8").astype(np.float32)
    step = (x.max(-1, keepdims=True) - x.min(-1, keepdims=True)).astype(np.float32) / 255
    assert (np.abs(back - x.astype(np.float32)) <= step / 2 + 2e-3).all()  # + float16 rounding of the result
    assert (back[0, 0] == 3.0).all()
    assert bytes_per_vector(1000, "uint8") / bytes_per_vector(1000, "fp16") == pytest.approx(0.504)
    assert decode(encode(x, "fp16"), "fp16") is not None and np.array_equal(encode(x, "fp16"), x)


def test_a_uint8_cache_serves_the_features_of_an_fp16_cache(tmp_path):
    from activity_data import write_ucf101

    video = next((write_ucf101(tmp_path / "ucf", groups=1, test_groups=0) / "MoveLeft").glob("*.avi"))
    caches = {s: FeatureCache(tmp_path / "cache", FeatureSpec(**TINY, store=s)) for s in ("fp16", "uint8")}
    for c in caches.values():
        assert c.build([video], workers=0) == {} and c.stats.entries == 1 and c.stats.frames == 20
    full, small = (caches[s].load(video).astype(np.float32) for s in ("fp16", "uint8"))
    assert small.shape == full.shape == (20, 1, 512)
    assert cosine(torch.from_numpy(small[:, 0]), torch.from_numpy(full[:, 0])).min() > 0.9999
    assert caches["uint8"].entry(video).stat().st_size < 0.55 * caches["fp16"].entry(video).stat().st_size


# a child process's start: an OpenVINO extractor ``ex`` on the tiny CNN, its converted model kept in argv[1]
OPENVINO_CHILD = f"""
import sys, torch
from lrcn.features.extractor import Extractor
from lrcn.features.spec import FeatureSpec
ex = Extractor(FeatureSpec(**{TINY!r}, engine="openvino"), "cpu", model_cache=sys.argv[1])
"""

CRASH_CHECK = OPENVINO_CHILD + """
import gc, os, signal, threading
box = [ex]
del ex
box[0].embed(torch.zeros(2, 3, 32, 32, dtype=torch.uint8))  # compiled on this (the main) thread
dropper = threading.Thread(target=lambda: (box.clear(), gc.collect()))  # the last reference dropped elsewhere
dropper.start()
dropper.join()
signal.signal(signal.SIGUSR1, lambda *a: None)
os.kill(os.getpid(), signal.SIGUSR1)  # as a child's SIGCHLD arrives: handled on the main thread's signal stack
print("alive")
"""


def test_an_openvino_engine_dropped_on_another_thread_leaves_the_main_threads_signals_working(tmp_path):
    """OpenVINO's CPU plugin gives the thread that compiles a model an alternate signal stack, and unmaps it when the
    plugin is released, from whichever thread that happens on. With a Core per engine, an engine freed on another
    thread (a server's worker, a garbage collection there) left the main thread's signal stack unmapped: the next
    signal (a DataLoader's or java's SIGCHLD) killed the process with SIGSEGV, two demos of two (fails with -11 on the code before). One Core per process
    keeps the plugin, and that stack, for the process's life."""
    child = subprocess.run([sys.executable, "-c", CRASH_CHECK, str(tmp_path)], capture_output=True, text=True,
                           timeout=120)
    assert child.returncode == 0 and child.stdout.strip() == "alive", (child.returncode, child.stderr[-300:])


PINNED = OPENVINO_CHILD + """
import os
ex.embed(torch.zeros(8, 3, 32, 32, dtype=torch.uint8))
everything = os.sched_getaffinity(0)
print(sum(os.sched_getaffinity(int(tid)) != everything for tid in os.listdir("/proc/self/task")))
"""


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="pinning shows only with two cores or more")
def test_openvino_pins_no_thread_to_a_core_so_that_two_processes_share_the_machine(tmp_path):
    # pinned, every process's threads start from the first core: two torchrun ranks shared one core at half speed
    out = subprocess.run([sys.executable, "-c", PINNED, str(tmp_path)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split()[-1] == "0"
