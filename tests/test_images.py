import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image, JpegImagePlugin

from lrcn.data.images import load_image
from lrcn.errors import LrcnError


def pixels(path, **kw) -> np.ndarray:
    img = load_image(path, **kw)
    assert img.mode == "RGB"
    return np.asarray(img).astype(int)


def test_exif_orientation_is_applied(tmp_path):
    img = Image.new("RGB", (40, 20), (255, 0, 0))  # stored: red left half, blue right half
    img.paste((0, 0, 255), (20, 0, 40, 20))
    exif = img.getexif()
    exif[0x0112] = 6  # "rotate 90 degrees clockwise to display"
    img.save(tmp_path / "rotated.jpg", exif=exif, quality=95)
    out = pixels(tmp_path / "rotated.jpg")
    assert out.shape == (40, 20, 3)  # upright: taller than wide
    assert out[3, 10, 0] > 200 and out[3, 10, 2] < 50  # stored left is now the top
    assert out[36, 10, 2] > 200 and out[36, 10, 0] < 50


def test_exif_rotation_with_size_gives_the_requested_shape(tmp_path):
    img = Image.new("RGB", (400, 200), (0, 128, 0))
    exif = img.getexif()
    exif[0x0112] = 8
    img.save(tmp_path / "rotated.jpg", exif=exif)
    assert pixels(tmp_path / "rotated.jpg", size=(30, 10)).shape == (30, 10, 3)


def test_grayscale_and_bilevel_become_gray_rgb(tmp_path):
    Image.new("L", (5, 4), 128).save(tmp_path / "gray.png")
    Image.new("1", (5, 4), 1).save(tmp_path / "bw.png")
    assert (pixels(tmp_path / "gray.png") == 128).all()
    assert (pixels(tmp_path / "bw.png") == 255).all()


def test_palette_image_keeps_its_colours(tmp_path):
    Image.new("RGB", (6, 6), (10, 200, 30)).convert("P", palette=Image.Palette.ADAPTIVE).save(tmp_path / "p.png")
    assert Image.open(tmp_path / "p.png").mode == "P"
    assert (pixels(tmp_path / "p.png")[0, 0] == (10, 200, 30)).all()


def test_palette_transparency_becomes_white(tmp_path):
    img = Image.new("P", (4, 4), 0)
    img.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)
    img.putpixel((0, 0), 1)
    img.save(tmp_path / "t.png", transparency=0)
    out = pixels(tmp_path / "t.png")
    assert (out[0, 0] == (255, 0, 0)).all() and (out[3, 3] == 255).all()


def test_alpha_is_composited_on_white(tmp_path):
    rgba = np.zeros((2, 3, 4), np.uint8)
    rgba[0, 0] = (0, 0, 255, 255)  # opaque blue stays blue
    rgba[0, 1] = (0, 0, 0, 0)  # transparent -> white
    rgba[0, 2] = (255, 0, 0, 128)  # half-transparent red -> pink
    Image.fromarray(rgba, "RGBA").save(tmp_path / "a.png")
    Image.new("LA", (2, 2), (0, 0)).save(tmp_path / "la.png")
    out = pixels(tmp_path / "a.png")
    assert (out[0, 0] == (0, 0, 255)).all()
    assert (out[0, 1] == 255).all()
    assert out[0, 2, 0] == 255 and 120 <= out[0, 2, 1] <= 135
    assert (pixels(tmp_path / "la.png") == 255).all()


def test_sixteen_bit_grayscale_is_scaled_not_clipped(tmp_path):
    values = np.array([[0, 257, 32896, 65535]], np.uint16)  # -> 0, 1, 128, 255
    Image.fromarray(values).save(tmp_path / "g16.png")
    assert Image.open(tmp_path / "g16.png").mode.startswith("I;16")
    assert pixels(tmp_path / "g16.png")[0, :, 0].tolist() == [0, 1, 128, 255]


def test_float_grayscale_in_zero_one_is_scaled(tmp_path):
    Image.fromarray(np.array([[0.0, 0.5, 1.0]], np.float32), "F").save(tmp_path / "f.tif")
    assert pixels(tmp_path / "f.tif")[0, :, 0].tolist() == [0, 128, 255]


@pytest.mark.parametrize("ext", ["jpg", "tif"])
def test_cmyk_becomes_rgb(tmp_path, ext):
    Image.new("CMYK", (8, 8), (0, 255, 255, 0)).save(tmp_path / f"c.{ext}")  # pure red in CMYK
    assert Image.open(tmp_path / f"c.{ext}").mode == "CMYK"
    r, g, b = pixels(tmp_path / f"c.{ext}")[4, 4]
    assert r > 240 and g < 15 and b < 15


def test_size_resizes_ignoring_aspect(tmp_path):
    Image.new("RGB", (300, 100), (1, 2, 3)).save(tmp_path / "wide.png")
    assert pixels(tmp_path / "wide.png", size=(64, 32)).shape == (64, 32, 3)


def test_large_jpeg_is_decoded_at_reduced_size(tmp_path, monkeypatch):
    Image.new("RGB", (4000, 3000), (20, 180, 60)).save(tmp_path / "big.jpg")
    boxes = []
    draft = JpegImagePlugin.JpegImageFile.draft
    monkeypatch.setattr(JpegImagePlugin.JpegImageFile, "draft", lambda self, *a: boxes.append(draft(self, *a)) or boxes[-1])
    out = pixels(tmp_path / "big.jpg", size=(128, 128))
    assert out.shape == (128, 128, 3) and abs(out[64, 64] - (20, 180, 60)).max() < 6
    assert boxes[0][1][2:] == (500, 375)  # libjpeg decoded at 1/8 scale: 500x375, never 4000x3000


def test_feature_cache_call_shape(tmp_path):
    Image.new("RGB", (50, 70), (5, 5, 5)).save(tmp_path / "x.jpg")
    assert np.asarray(load_image(tmp_path / "x.jpg", size=(32, 32)))[None].shape == (1, 32, 32, 3)


def test_one_pixel_image_loads(tmp_path):
    Image.new("RGB", (1, 1), (9, 8, 7)).save(tmp_path / "one.png")
    assert pixels(tmp_path / "one.png").tolist() == [[[9, 8, 7]]]
    assert pixels(tmp_path / "one.png", size=(16, 16)).shape == (16, 16, 3)


def test_decompression_bomb_is_a_clear_error_before_decoding(tmp_path, monkeypatch):
    from lrcn.data.limits import Limits, using

    Image.new("RGB", (60, 40)).save(tmp_path / "bomb.png")  # 2400 pixels
    with using(Limits(max_pixels=2000)), pytest.raises(LrcnError, match=r"bomb.png: image too large .*LRCN_MAX_PIXELS"):
        load_image(tmp_path / "bomb.png")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)  # Pillow's own check (at 2x its limit) comes first
    with pytest.raises(LrcnError, match=r"bomb.png: image too large"):
        load_image(tmp_path / "bomb.png")


def _truncated_jpeg(path):
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 64, 3), np.uint8)).save(path)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


@pytest.mark.parametrize("make, message", [
    (lambda p: p.write_bytes(b""), "empty file"),
    (lambda p: p.write_text("not an image at all"), "not an image"),
    (_truncated_jpeg, "truncated image"),
    (lambda p: None, "no such file"),
    (lambda p: p.mkdir(), "is a directory"),
    (lambda p: p.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 40), "not"),
])
def test_bad_image_is_one_line_naming_the_file(tmp_path, make, message):
    path = tmp_path / "bad.jpg"
    make(path)
    with pytest.raises(LrcnError) as e:
        load_image(path, size=(32, 32))
    assert str(path) in str(e.value) and message in str(e.value) and "\n" not in str(e.value)


@settings(max_examples=60, deadline=None)
@given(head=st.sampled_from([b"\xff\xd8\xff\xe0", b"\x89PNG\r\n\x1a\n", b"GIF89a", b"BM", b"II*\0"]), tail=st.binary(max_size=300))
def test_garbage_with_an_image_header_loads_or_raises_lrcnerror(tmp_path_factory, head, tail):
    path = tmp_path_factory.mktemp("fuzz") / "f.img"
    path.write_bytes(head + tail)
    try:
        load_image(path, size=(8, 8))
    except LrcnError as e:
        assert "\n" not in str(e)
