"""timm:NAME and torchvision:NAME backbones: the library's own forward pooled to the grid, their preprocessing, their
pretrained weights from the libraries' caches offline, a user's weights file, and engines checked at conversion."""
import hashlib
import json
import logging

import pytest
import torch
from safetensors.torch import save_file

from lrcn.bundle import Bundle
from lrcn.errors import LrcnError
from lrcn.features.extractor import Extractor
from lrcn.features.spec import FeatureConfig, FeatureSpec
from lrcn.models.backbones import create_backbone, starting_weights
from lrcn.models.hub import preprocess

timm = pytest.importorskip("timm")
tvm = pytest.importorskip("torchvision.models")
IMAGES = torch.randint(0, 256, (2, 3, 64, 64), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))


def normalised(mean, std) -> torch.Tensor:
    return (IMAGES.float() / 255 - torch.tensor(mean).view(1, 3, 1, 1)) / torch.tensor(std).view(1, 3, 1, 1)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """Weights files written from the libraries' own randomly initialised models (a checkpoint-wrapped, prefixed
    torch file for torchvision's)."""
    root = tmp_path_factory.mktemp("weights")
    torch.manual_seed(1)
    timm_net, tv_net = timm.create_model("resnet18"), tvm.resnet18()
    save_file(timm_net.state_dict(), root / "timm_resnet18.safetensors")
    torch.save({"state_dict": {f"module.{k}": v for k, v in tv_net.state_dict().items()}}, root / "tv_resnet18.pth")
    return {"timm": (timm_net.eval(), root / "timm_resnet18.safetensors"), "tv": (tv_net.eval(), root / "tv_resnet18.pth")}


def test_a_timm_backbone_is_its_forward_features_pooled_to_the_grid(files):
    net, path = files["timm"]
    backbone = create_backbone("timm:resnet18", path, grid=2)
    with torch.inference_mode():
        x = normalised(net.pretrained_cfg["mean"], net.pretrained_cfg["std"])
        ref = torch.nn.functional.adaptive_avg_pool2d(net.forward_features(x), 2).flatten(1)
        assert torch.allclose(backbone(IMAGES), ref, atol=1e-5)


def test_a_torchvision_backbone_is_cut_before_its_pooling_and_reads_a_prefixed_checkpoint(files):
    net, path = files["tv"]
    backbone = create_backbone("torchvision:resnet18", path, grid=3)
    fmap = []
    hook = net.avgpool.register_forward_pre_hook(lambda m, x: fmap.append(x[0]))  # what the pooling reads
    with torch.inference_mode():
        net(normalised((0.485, 0.456, 0.406), (0.229, 0.224, 0.225)))
        hook.remove()
        ref = torch.nn.functional.adaptive_avg_pool2d(fmap[0], 3).flatten(1)
        assert torch.allclose(backbone(IMAGES), ref, atol=1e-5)


def test_a_vits_patch_tokens_are_laid_back_on_their_grid():
    backbone = create_backbone("timm:vit_tiny_patch16_224", "none", grid=4)
    vit = backbone.net.model
    with torch.inference_mode():
        tokens = vit.forward_features(normalised((0.5,) * 3, (0.5,) * 3))[:, vit.num_prefix_tokens:]  # (2, 16, C)
        ref = tokens.transpose(1, 2).reshape(2, -1, 4, 4).flatten(1)  # 64 px / 16: the 4x4 grid itself
        assert torch.allclose(backbone(IMAGES), ref, atol=1e-5)


def test_mean_std_and_input_size_come_from_the_models_own_config():
    assert str(preprocess("timm:vit_tiny_patch16_224")) == "mean 0.5,0.5,0.5 std 0.5,0.5,0.5 size 224"
    t = tvm.get_model_weights("resnet18").DEFAULT.transforms()
    assert preprocess("torchvision:resnet18").mean == tuple(t.mean) and preprocess("torchvision:resnet18").size == 224


def test_the_spec_names_the_weights_sha256_and_preprocessing_and_keys_on_them(files):
    path = files["timm"][1]
    spec = FeatureConfig(backbone="timm:resnet18", backbone_weights=str(path)).spec(device="cpu")
    assert spec.backbone_sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert spec.preprocess.startswith("mean 0.485,0.456,0.406") and spec.backbone_file == str(path.resolve())
    seeded = FeatureConfig(backbone="timm:resnet18", pretrained=False).spec(device="cpu")
    assert seeded.key() != spec.key() and not seeded.backbone_sha256
    moved = FeatureSpec(**{**spec.__dict__, "backbone_file": "/elsewhere/w.safetensors"})
    assert moved.key() == spec.key()  # the weights' sha256 keys the cache, not where the file lies


def test_timm_pretrained_weights_come_from_a_hub_cache_offline(files, tmp_path, monkeypatch):
    hub = tmp_path / "hub"
    repo = hub / "models--timm--resnet18.a1_in1k"
    (repo / "snapshots" / "0123abc").mkdir(parents=True)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("0123abc")
    (repo / "snapshots" / "0123abc" / "model.safetensors").write_bytes(files["timm"][1].read_bytes())
    constants = pytest.importorskip("huggingface_hub").constants
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(hub))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    start = starting_weights("timm:resnet18", "pretrained", check=True)
    assert start.sha256 == hashlib.sha256(files["timm"][1].read_bytes()).hexdigest() and not start.file
    assert torch.equal(create_backbone("timm:resnet18").state_dict()["net.model.conv1.weight"],
                       files["timm"][0].conv1.weight)
    (repo / "snapshots" / "0123abc" / "model.safetensors").unlink()
    with pytest.raises(LrcnError, match=r"^--backbone timm:resnet18: pretrained weights timm/resnet18.a1_in1k not in "
                                        r"the Hugging Face cache and offline \(HF_HUB_OFFLINE=1\): .*models--timm--"):
        create_backbone("timm:resnet18")


def test_torchvision_pretrained_weights_come_from_torch_home(files, tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    name = tvm.get_model_weights("resnet18").DEFAULT.url.rsplit("/", 1)[1]  # resnet18-f37072fd.pth: hash prefix
    with pytest.raises(LrcnError, match=rf"^--backbone torchvision:resnet18: pretrained weights {name} not in torch's "
                                        rf"cache and offline .* put it at {tmp_path}/hub/checkpoints/{name}, or"):
        create_backbone("torchvision:resnet18")
    (tmp_path / "hub" / "checkpoints").mkdir(parents=True)
    torch.save(files["tv"][0].state_dict(), tmp_path / "hub" / "checkpoints" / name)
    backbone = create_backbone("torchvision:resnet18")
    assert torch.equal(backbone.state_dict()["net.conv1.weight"], files["tv"][0].conv1.weight)


def test_an_export_says_in_one_line_which_weights_it_needs_when_the_cache_holds_others(tmp_path):
    bundle = Bundle(tmp_path, "activity", {"features": {"backbone": "timm:resnet18"}}, {}, True, cnn_sha256="ab" * 32)
    bundle.check_cnn("ab" * 32)
    with pytest.raises(LrcnError, match=r"trained on timm:resnet18's weights with sha256 (ab)+, but the weights found "
                                        r"here have sha256 cd"):
        bundle.check_cnn("cd" * 32)


def test_a_fine_tuned_cnn_runs_on_openvino_once_its_conversion_agrees_with_pytorch(tmp_path):
    cnn = create_backbone("timm:resnet18", "none", grid=1)
    spec = FeatureConfig(backbone="timm:resnet18", image_size=32, grid=1, engine="openvino",
                         precision="fp32").spec(weights="tuned", device="cpu")
    frames = torch.randint(0, 256, (3, 3, 32, 32), dtype=torch.uint8)
    feats = Extractor(spec, "cpu", cnn, model_cache=tmp_path).embed(frames)
    (check,) = (tmp_path / "engines").glob("openvino-*/check.json")
    assert json.loads(check.read_text())["cosine"] >= 0.999
    ref = Extractor(FeatureSpec(backbone="timm:resnet18", grid=1, image_size=32, weights="tuned"), "cpu", cnn).embed(
        frames)
    assert torch.nn.functional.cosine_similarity(feats.float(), ref.float()).min() > 0.999


def test_a_conversion_that_disagrees_or_fails_runs_on_pytorch_with_one_line(tmp_path, monkeypatch, caplog):
    import lrcn.features.engines as engines

    spec = FeatureSpec(backbone="resnet18", pretrained=False, grid=1, image_size=32, engine="onnxruntime")
    frames = torch.randint(0, 256, (2, 3, 32, 32), dtype=torch.uint8)
    ref = Extractor(FeatureSpec(**{**spec.__dict__, "engine": "torch"}), "cpu").embed(frames)
    monkeypatch.setattr(engines, "agreement", lambda *a: 0.5)
    with caplog.at_level(logging.WARNING):
        feats = Extractor(spec, "cpu", model_cache=tmp_path).embed(frames)
    assert torch.equal(feats, ref)  # PyTorch ran it
    assert [r.message for r in caplog.records] == [
        "warning: onnxruntime's features differ from PyTorch's (cosine 0.5000 < 0.999 on the check frames): running "
        "the CNN on PyTorch"]
    caplog.clear()
    monkeypatch.setattr(engines, "to_onnx", lambda *a: (_ for _ in ()).throw(TypeError("unsupported op")))
    with caplog.at_level(logging.WARNING):
        feats = Extractor(spec, "cpu", model_cache=tmp_path / "other").embed(frames)
    assert torch.equal(feats, ref)
    assert [r.message for r in caplog.records] == [
        "warning: the CNN does not convert for onnxruntime (TypeError: unsupported op): running it on PyTorch"]
    assert not [p for p in (tmp_path / "other" / "engines").iterdir() if p.is_dir()]  # nothing half-converted kept
