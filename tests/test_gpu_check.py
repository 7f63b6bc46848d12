"""bench/gpu_check.py: without CUDA it says so in one line and exits 2; a missing package is one line naming it; its
CPU half (--device cpu) passes every check and writes its table as JSON (slow); bench/project.py bills a GPU from
that JSON's figures and refuses a CPU half's."""
import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

BENCH = Path(__file__).parent.parent / "bench"


def gpu_check(*args, without=()) -> subprocess.CompletedProcess:
    """``python bench/gpu_check.py ARGS``, the import names ``without`` made missing (as in tests/cli.py)."""
    code = (f"import runpy, sys\nfor name in {list(without)!r}: sys.modules[name] = None\n"
            f"sys.argv = [{str(BENCH / 'gpu_check.py')!r}, *sys.argv[1:]]\n"
            f"runpy.run_path(sys.argv[0], run_name='__main__')")
    return subprocess.run([sys.executable, "-c", code, *map(str, args)], capture_output=True, text=True)


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_without_cuda_it_says_so_in_one_line_and_exits_2():
    out = gpu_check()
    assert out.returncode == 2 and not out.stderr
    assert out.stdout.count("\n") == 1 and out.stdout.startswith("gpu_check: no CUDA GPU visible to PyTorch here")


def test_a_missing_package_is_one_line_naming_it():
    out = gpu_check("--device", "cpu", without=["av", "pytest"])
    assert out.returncode == 1 and not out.stderr
    assert out.stdout == ("gpu_check: missing av, pytest: carry their wheels and pip install --no-index --find-links "
                          "(docs/gpu.md)\n")


@pytest.mark.slow
def test_the_cpu_half_passes_every_check_and_writes_its_table(tmp_path):
    out = gpu_check("--device", "cpu", "--out", tmp_path / "result.json")
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-2000:]
    result = json.loads((tmp_path / "result.json").read_text())
    assert result["device"] == "cpu" and result["passed"] and len(result["checks"]) == 4
    assert {"lrcn_train", "finetune", "caption_train", "caption_beam5", "retrieval", "classify_10s", "feature_pass",
            "flow_dis"} <= set(result["figures"]) and any(k.startswith("cnn_") for k in result["figures"])
    assert all(f["device"] or f["cpu"] for f in result["figures"].values())
    assert "| figure | unit | CPU | share of CPU" in out.stdout and "4/4 checks passed" in out.stdout


def test_the_gpu_bill_reads_the_checks_figures_and_refuses_a_cpu_half(tmp_path):
    sys.path.insert(0, str(BENCH))
    import project

    figures = {k: {"device": 100.0, "cpu": 10.0} for k in ("feature_pass", "lrcn_train", "finetune", "caption_train",
                                                           "caption_beam5")}
    figures["flow_dis"] = {"device": None, "cpu": 50.0}
    path = tmp_path / "gpu.json"
    path.write_text(json.dumps({"device": "cuda", "header": ["machine: x", "GPU: H200 (sm 9.0, 139 GB)"],
                                "figures": figures}))
    name, rates = project.gpu_rates(path)
    assert name == "H200 (sm 9.0, 139 GB)" and rates["flow"] == 50.0 and rates["rgb"] == rates["head"] == 100.0
    rows = {stage: h for _, stage, h, _, _ in project.bill(**rates)}
    assert rows["RGB CNN pass (all 2.5 M frames)"] == pytest.approx(2.5e6 / 100 / 3600)
    path.write_text(json.dumps({"device": "cpu", "header": [], "figures": figures}))
    with pytest.raises(SystemExit, match="a --device cpu run of bench/gpu_check.py, not a GPU's figures"):
        project.gpu_rates(path)
