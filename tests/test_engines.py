"""CNN engines (PyTorch, OpenVINO, ONNX Runtime) and the compact store: the same features, keys that tell them apart."""
import os
import subprocess
import sys

import numpy as np
import pytest
import torch

from lrcn.features.cache import FeatureCache
from lrcn.features.extractor import Extractor
from lrcn.features.spec import FeatureSpec
from lrcn.features.store import bytes_per_vector, decode, encode
from machine import needs_bf16

pytestmark = pytest.mark.cpu_kinds  # make test runs these again held to AVX2

TINY = dict(backbone="resnet18", pretrained=False, grid=1, image_size=32)  # seeded weights: every process builds them


def cosine(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return torch.nn.functional.cosine_similarity(a.float(), b.float())


def test_every_fp32_engine_computes_the_reference_features(tmp_path):
    frames = torch.randint(0, 256, (6, 3, 32, 32), dtype=torch.uint8)
    ref = Extractor(FeatureSpec(**TINY, precision="fp32"), "cpu").embed(frames)  # (6, 512)
    for engine in ("onnxruntime", "openvino"):
        feats = Extractor(FeatureSpec(**TINY, engine=engine), "cpu", model_cache=tmp_path).embed(frames)
        assert feats.shape == ref.shape and feats.dtype == torch.float16
        assert cosine(feats, ref).min() > 0.9999, engine
    converted = [p.name for p in (tmp_path / "engines").iterdir() if p.is_dir()]
    assert len(converted) == 2  # one converted model per engine


@needs_bf16
@pytest.mark.parametrize("engine", ["openvino", "torch"])
def test_bf16_engines_run_in_bf16_near_the_reference(engine, tmp_path):
    frames = torch.randint(0, 256, (6, 3, 32, 32), dtype=torch.uint8)
    ref = Extractor(FeatureSpec(**TINY, engine=engine, precision="fp32"), "cpu", model_cache=tmp_path).embed(frames)
    feats = Extractor(FeatureSpec(**TINY, engine=engine, precision="bf16"), "cpu", model_cache=tmp_path).embed(frames)
    assert cosine(feats, ref).min() > 0.99
    assert (feats.float() - ref.float()).abs().max() > 1e-3  # bf16 did run: fp32 would match to float16 rounding


def test_engine_store_and_the_precision_that_ran_are_in_the_key():
    # the key of a cache written before engine and store existed: tests/test_activity_finetune.py
    specs = [FeatureSpec(precision="bf16"), FeatureSpec(precision="bf16", engine="openvino"), FeatureSpec(),
             FeatureSpec(engine="openvino"), FeatureSpec(engine="onnxruntime"), FeatureSpec(store="uint8")]
    assert len({s.key() for s in specs}) == len(specs)


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
    assert np.array_equal(encode(x, "fp16"), x) and np.array_equal(decode(encode(x, "fp16"), "fp16"), x)


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
