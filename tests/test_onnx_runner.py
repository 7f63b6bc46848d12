"""The pieces of examples/onnx/ that re-implement lrcn's (the runner cannot import it), checked against lrcn's own:
the clip starts, and reading an image (draft-mode JPEG, EXIF rotation, transparency, 16-bit grey, palettes)."""
import sys
from pathlib import Path

RUNNER = Path(__file__).resolve().parent.parent / "examples" / "onnx"


def runner_module(name):
    """A module of examples/onnx/, imported here to check it against lrcn's own twin."""
    import importlib.util

    sys.path.insert(0, str(RUNNER))  # classify.py imports lrcn_export
    try:
        spec = importlib.util.spec_from_file_location(f"onnx_runner_{name}", RUNNER / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(RUNNER))
    return module


def test_the_runners_clip_starts_are_lrcns():
    from lrcn.data.video import sample_clip_starts

    clip_starts = runner_module("classify").clip_starts
    for frames in (1, 15, 16, 17, 23, 24, 25, 40, 250):
        assert clip_starts(frames, 16, 8) == sample_clip_starts(frames, 16, 8)


def test_the_runner_reads_images_as_lrcn_does(tmp_path):
    import numpy as np
    from PIL import Image

    from lrcn.data.images import load_image

    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, (240, 320, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(tmp_path / "big.jpg", quality=90)  # decoded in draft mode, at 1/2
    rotated = Image.fromarray(pixels[:200, :120])
    exif = rotated.getexif()
    exif[0x0112] = 6  # EXIF orientation: rotated 90 degrees
    rotated.save(tmp_path / "rotated.jpg", exif=exif)
    Image.fromarray(np.dstack([pixels[:50, :70], rng.integers(0, 256, (50, 70), dtype=np.uint8)])).save(
        tmp_path / "alpha.png")
    Image.fromarray(rng.integers(0, 65536, (40, 40), dtype=np.uint16)).save(tmp_path / "grey16.png")
    Image.fromarray(pixels[:30, :30]).quantize(16).save(tmp_path / "palette.png", transparency=3)
    read = runner_module("lrcn_export").load_image
    for path in sorted(tmp_path.iterdir()):
        np.testing.assert_array_equal(read(str(path), 73), np.asarray(load_image(path, size=(73, 73))), path.name)
