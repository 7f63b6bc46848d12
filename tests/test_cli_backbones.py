"""timm and torchvision backbones through the real CLI: train with a user's weights file, then classify, export and
lrcn.load(OUT).predict give the same answers, the features being the library's own forward pooled the same way; every
bad-weights case is one line, exit 1, with nothing left behind in the run folder or the cache."""
import json
import os

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file

import lrcn
from cli import lrcn as run_lrcn
from lrcn.data.synthetic.scenes import write_scenes
from lrcn.features.cache import FeatureCache
from lrcn.features.spec import FeatureConfig

timm = pytest.importorskip("timm")
tvm = pytest.importorskip("torchvision.models")
TINY = ["--image-size", "32", "--grid", "1", "--pca", "0", "--fc6", "16", "--hidden", "8", "--batch-size", "4",
        "--workers", "0", "--epochs", "1"]
CAPTION = ["--image-size", "32", "--grid", "1", "--epochs", "1", "--embed-dim", "8", "--hidden", "8", "--image-dim",
           "8", "--min-count", "1", "--images-per-batch", "8"]


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp("backbones")
    torch.manual_seed(0)
    save_file(timm.create_model("resnet18").state_dict(), root / "timm_resnet18.safetensors")
    torch.save({"model": tvm.resnet18().state_dict()}, root / "tv_resnet18.pth")  # a checkpoint wrapping it
    env = {**os.environ, "LRCN_CACHE": str(root / "cache"), "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1",
           "HF_HUB_CACHE": str(root / "hf"), "TORCH_HOME": str(root / "torch")}
    data = root / "actions"  # the embedded generator's videos, in UCF101's layout: 2 a class of 8 frames
    run_lrcn("synth", "actions", "--out", data, "--videos-per-class", "2", "--frames", "8", env=env)
    return root, data, env


def first_video(data, split: str) -> "os.PathLike":
    """The first video of split 1's ``split`` list (train or test)."""
    return data / (data / "ucfTrainTestlist" / f"{split}list01.txt").read_text().split()[0]


def answers(run, out, video, env) -> list[dict]:
    """classify's answer, the export's through lrcn.load in this process, and classify's on the export."""
    ran = json.loads(run_lrcn("classify", run, video, "--json", env=env).stdout)
    run_lrcn("export", run, out, env=env)
    loaded = lrcn.load(out).predict(str(video))
    exported = json.loads(run_lrcn("classify", out, video, "--json", env=env).stdout)
    return [ran, loaded, exported]


def same(answers: list[dict]) -> bool:
    first = answers[0]
    return all(a["label"] == first["label"] and a["score"] == pytest.approx(first["score"], abs=1e-4) for a in answers)


@pytest.mark.parametrize("backbone, weights, engine", [("timm:resnet18", "timm_resnet18.safetensors", "torch"),
                                                       ("torchvision:resnet18", "tv_resnet18.pth", "auto")])
def test_train_classify_export_and_load_answer_alike_with_a_users_weights(setup, backbone, weights, engine,
                                                                           monkeypatch):
    root, data, env = setup
    run, out = root / f"run-{backbone.replace(':', '-')}", root / f"out-{backbone.replace(':', '-')}"
    run_lrcn("train", "activity", "--data", data, "--out", run, "--backbone", backbone, "--backbone-weights",
             root / weights, "--engine", engine, "--cnn-precision", "fp32", *TINY, env=env)
    video = first_video(data, "test")
    for k in ("LRCN_CACHE", "HF_HUB_OFFLINE", "TORCH_HOME"):
        monkeypatch.setenv(k, env[k])
    results = answers(run, out, video, env)
    assert same(results)
    config = json.loads((out / "config.json").read_text())
    assert config["cnn"]["weights"] == "model.safetensors (cnn.*)" and len(config["cnn"]["sha256"]) == 64
    (root / weights).rename(root / f"{weights}.away")  # the export carries the CNN: it needs the file no more
    try:
        assert lrcn.load(out).predict(str(video))["score"] == pytest.approx(results[0]["score"], abs=1e-4)
    finally:
        (root / f"{weights}.away").rename(root / weights)


def test_cached_features_are_the_librarys_own_forward_pooled_to_the_grid(setup, monkeypatch):
    root, data, env = setup
    run = root / "run-timm-resnet18"
    if not run.is_dir():
        pytest.skip("needs the timm run of the test above")
    features = FeatureConfig(backbone="timm:resnet18", backbone_weights=str(root / "timm_resnet18.safetensors"),
                             grid=1, image_size=32, engine="torch", precision="fp32")
    spec = features.spec("center", "rgb", device="cpu")
    video = first_video(data, "train")
    cache = FeatureCache(root / "cache", spec)
    assert cache.has(video)  # training filled it under this spec
    cached = torch.from_numpy(np.array(cache.load(video))).float()[:, 0]  # (T, 512)
    views = cache.extractor.views(video)[:, 0]  # (T, 3, 32, 32) uint8, the crops the CNN read
    net = timm.create_model("resnet18")
    net.load_state_dict(load_file(root / "timm_resnet18.safetensors"))
    x = (views.float() / 255 - torch.tensor(net.pretrained_cfg["mean"]).view(1, 3, 1, 1)) / \
        torch.tensor(net.pretrained_cfg["std"]).view(1, 3, 1, 1)
    with torch.inference_mode():
        ref = net.eval().forward_features(x).mean((2, 3))  # the 1x1 grid: the map's average
    assert torch.allclose(cached, ref.half().float(), rtol=2e-3, atol=2e-3)


def test_a_caption_run_on_a_torchvision_backbone_captions_alike_from_its_export(setup, monkeypatch):
    root, _, env = setup
    scenes = write_scenes(root / "scenes", seed=0, num_train=12, num_val=4, num_test=4, image_size=40, workers=1)
    run, out = root / "caption-run", root / "caption-out"
    run_lrcn("train", "caption", "--data", scenes, "--out", run, "--backbone", "torchvision:resnet18",
             "--backbone-weights", root / "tv_resnet18.pth", *CAPTION, env=env)
    image = sorted(scenes.rglob("*.jpg"))[0]
    ran = json.loads(run_lrcn("caption", run, image, "--json", env=env).stdout)
    run_lrcn("export", run, out, env=env)
    for k in ("LRCN_CACHE", "HF_HUB_OFFLINE", "TORCH_HOME"):
        monkeypatch.setenv(k, env[k])
    loaded = lrcn.load(out).predict(str(image))
    assert loaded["caption"] == ran["caption"] and loaded["logprob"] == pytest.approx(ran["logprob"], abs=1e-3)


@pytest.mark.parametrize("case", ["missing", "truncated", "other architecture", "offline, nothing cached"])
def test_bad_weights_are_one_line_exit_1_and_leave_nothing_behind(setup, case):
    root, data, env = setup
    bad = root / f"bad-{case.replace(' ', '-').replace(',', '')}"
    weights = {"missing": ["--backbone-weights", root / "nowhere.safetensors"],
               "truncated": ["--backbone-weights", bad.with_suffix(".safetensors")],
               "other architecture": ["--backbone", "torchvision:mobilenet_v3_small", "--backbone-weights",
                                      root / "timm_resnet18.safetensors"],
               "offline, nothing cached": []}[case]
    if case == "truncated":
        bad.with_suffix(".safetensors").write_bytes((root / "timm_resnet18.safetensors").read_bytes()[:100_000])
    cache = root / f"cache-{bad.name}"
    out = run_lrcn("train", "activity", "--data", data, "--out", bad, "--backbone", "timm:resnet18", *weights, *TINY,
                   "--cache", cache, env=env, check=False)
    assert out.returncode == 1 and "Traceback" not in out.stderr
    (line,) = out.stderr.strip().splitlines()
    expected = {"missing": "nowhere.safetensors: no such weights file",
                "truncated": "not a readable state dict, truncated or damaged",
                "other architecture": "not weights of torchvision:mobilenet_v3_small",
                "offline, nothing cached": "timm/resnet18.a1_in1k not in the Hugging Face cache and offline"}[case]
    assert line.startswith("error: ") and expected in line
    assert not bad.exists() and not cache.exists()  # no run folder, no cache entries
