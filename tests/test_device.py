"""Any device: --device auto|cpu|cuda|mps picks one place, autocast runs on the tensors' device, nothing names the CPU.

The GPU test runs only where CUDA exists (it is skipped on the CPU-only machines this project is built on)."""
import json

import pytest
import torch

from activity_data import write_ucf101
from cli import lrcn
from lrcn.device import accelerator, autocast, lightning_precision, resolve
from lrcn.errors import LrcnError

pytestmark = pytest.mark.cpu_kinds  # make test runs these again held to AVX2

CUDA = torch.cuda.is_available()


def test_auto_takes_a_gpu_when_there_is_one_else_the_cpu():
    mps = torch.backends.mps.is_available()
    assert resolve("auto").type == ("cuda" if CUDA else "mps" if mps else "cpu")
    assert resolve("cpu") == torch.device("cpu")
    with pytest.raises(LrcnError, match="--device tpu: choose from auto, cpu, cuda, mps"):
        resolve("tpu")


@pytest.mark.skipif(CUDA, reason="this machine has CUDA")
def test_asking_for_a_missing_gpu_is_one_line(tmp_path):
    with pytest.raises(LrcnError, match="--device cuda: no CUDA GPU visible to PyTorch here"):
        resolve("cuda")
    out = lrcn("classify", tmp_path, tmp_path / "v.avi", "--device", "cuda", check=False)
    assert out.returncode == 1 and "Traceback" not in out.stderr and out.stderr.count("\n") == 1


def test_autocast_follows_the_device_and_the_precision():
    x = torch.randn(4, 4)
    with autocast(x.device, "bf16"):
        assert (x @ x).dtype == torch.bfloat16
    with autocast(x.device, "fp32"):
        assert (x @ x).dtype == torch.float32
    assert accelerator(torch.device("cuda")) == "gpu" and accelerator(torch.device("cpu")) == "cpu"
    assert lightning_precision("bf16") == "bf16-mixed" and lightning_precision("fp16") == "16-mixed"


@pytest.mark.skipif(not CUDA, reason="needs a CUDA GPU (none on this machine): trains and predicts with --device cuda")
def test_training_and_prediction_run_on_a_gpu(tmp_path):
    data = write_ucf101(tmp_path / "UCF101", groups=4, test_groups=1)
    tiny = ["--image-size", "64", "--pca", "0", "--fc6", "16", "--hidden", "8", "--batch-size", "4", "--workers", "1"]
    lrcn("train", "activity", "--data", data, "--out", tmp_path / "run", "--epochs", 2, "--device", "cuda",
         "--cache", tmp_path / "cache", "--finetune", "--precision", "bf16", *tiny)
    video = data / "MoveLeft" / "v_MoveLeft_g04_c01.avi"
    gpu = json.loads(lrcn("classify", tmp_path / "run", video, "--json", "--device", "cuda").stdout)
    cpu = json.loads(lrcn("classify", tmp_path / "run", video, "--json", "--device", "cpu").stdout)
    assert gpu["label"] == cpu["label"] and gpu["score"] == pytest.approx(cpu["score"], abs=0.05)
