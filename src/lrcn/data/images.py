"""Still images: any file Pillow reads becomes an upright 8-bit RGB image, or one clear LrcnError.

What each kind of file becomes:
- EXIF orientation is applied (a phone photo taken sideways comes out upright).
- Grayscale (``1``, ``L``), palette (``P``), CMYK, YCbCr, LAB, HSV: converted to RGB by Pillow.
- 16-bit and 32-bit integer grayscale (``I;16``, ``I;16B``, ``I``): scaled from 0..65535 to 0..255
  (Pillow's own ``convert`` would clip everything above 255 to white). Floating-point grayscale
  (``F``, e.g. scientific TIFFs): scaled from 0..1 if all values fit there, else clipped to 0..255.
  16-bit RGB PNGs Pillow itself reduces to 8 bits correctly.
- Transparency (``RGBA``, ``LA``, ``PA``, a palette with a transparent colour): composited on white,
  as a browser shows it on a white page; fully transparent pixels become white.
- A JPEG larger than the requested ``size`` is decoded at 1/2, 1/4 or 1/8 scale (Pillow's draft
  mode, done by libjpeg while decoding), so a 6000x4000 photo never exists in memory whole.
- Rejected, with a one-line LrcnError naming the file: missing, a directory, empty, not an image,
  truncated (the data ends before the last pixel: Pillow could fill the rest with grey, but a
  half-grey photo would silently give a wrong caption, so we refuse it), and anything above
  ``Image.MAX_IMAGE_PIXELS`` (Pillow's decompression-bomb limit, ~89 megapixels).
- A 1x1 image is an image: it loads.
"""
from __future__ import annotations

import io
import os
import struct
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from lrcn.data.limits import limits
from lrcn.data.video import check_bytes, check_readable
from lrcn.errors import LrcnError

# What Pillow's decoders raise on corrupt data besides OSError (documented or seen in fuzzing).
_DECODE_ERRORS = (OSError, SyntaxError, ValueError, TypeError, EOFError, IndexError, KeyError, struct.error,
                  ZeroDivisionError)
_SIXTEEN_BIT = {"I;16", "I;16L", "I;16B", "I;16N", "I"}
_ORIENTATION_TAG = 0x0112
_SWAPS_AXES = {5, 6, 7, 8}  # EXIF orientations that rotate by 90 degrees


def load_image(src: str | os.PathLike | bytes | Image.Image, size: tuple[int, int] | None = None,
               name: str | None = None) -> Image.Image:
    """An image file (or its bytes, or a PIL image) as an upright RGB ``PIL.Image``; ``size=(H, W)`` resizes it
    (aspect ignored, as Caffe's 256x256). Errors name the file (or ``name``, for bytes)."""
    if isinstance(src, Image.Image):
        _check_pixels(name or "<image>", src.size)
        rgb = to_rgb(src)
    else:
        rgb = _decode(src, size, name)
    if size is not None and rgb.size != (size[1], size[0]):
        rgb = rgb.resize((size[1], size[0]), Image.Resampling.BILINEAR)
    return rgb


def _decode(src: str | os.PathLike | bytes, size: tuple[int, int] | None, name: str | None) -> Image.Image:
    if isinstance(src, (bytes, bytearray, memoryview)):
        label = name or "<bytes>"
        if not len(src):
            raise LrcnError(f"{label}: empty input (0 bytes)")
        check_bytes(label, len(src))
        opened = io.BytesIO(src)
    else:
        opened = label = check_readable(src)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # we apply the limit ourselves, below
            with Image.open(opened) as img:
                _check_pixels(label, img.size)
                if size is not None:
                    _draft(img, size)
                img.load()
                img = ImageOps.exif_transpose(img)
                return to_rgb(img)
    except LrcnError:
        raise
    except UnidentifiedImageError:
        raise LrcnError(f"{label}: not an image (no image format recognised)") from None
    except Image.DecompressionBombError as e:
        raise LrcnError(f"{label}: image too large ({str(e).rstrip('.')})") from None
    except _DECODE_ERRORS as e:
        if "truncated" in str(e):
            raise LrcnError(f"{label}: truncated image (the data ends before the last pixel)") from None
        raise LrcnError(f"{label}: not a decodable image ({_reason(e)})") from None


def to_rgb(img: Image.Image) -> Image.Image:
    """Any Pillow mode -> 8-bit RGB (see the module docstring for what each mode becomes)."""
    if img.mode == "RGB":
        return img
    if img.mode in _SIXTEEN_BIT:
        gray = np.asarray(img, dtype=np.float32) / 257.0  # 65535 -> 255
        return Image.fromarray(np.clip(np.rint(gray), 0, 255).astype(np.uint8), "L").convert("RGB")
    if img.mode == "F":  # floating point: [0, 1] if it fits there (the usual convention), else 0..255
        gray = np.asarray(img, dtype=np.float32)
        gray = gray * 255 if np.nanmax(gray, initial=0) <= 1 else gray
        return Image.fromarray(np.clip(np.rint(np.nan_to_num(gray)), 0, 255).astype(np.uint8), "L").convert("RGB")
    if img.mode == "P" and "transparency" in img.info:
        img = img.convert("RGBA")
    if img.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = img.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("RGB")
    return img.convert("RGB")


def _check_pixels(path: Path | str, wh: tuple[int, int]) -> None:
    """The header's size against the pixel budget, before a single pixel is decoded (a decompression bomb)."""
    limit = limits().max_pixels
    if wh[0] * wh[1] > limit:
        raise LrcnError(f"{path}: image too large ({wh[0]}x{wh[1]} = {wh[0] * wh[1]} pixels, "
                        f"above the decompression-bomb limit of {limit}, LRCN_MAX_PIXELS)")


def _draft(img: Image.Image, size: tuple[int, int]) -> None:
    """Ask the decoder (JPEG only) for the smallest 1/2^k scale still at least ``size`` after EXIF rotation."""
    h, w = size
    if img.getexif().get(_ORIENTATION_TAG) in _SWAPS_AXES:
        h, w = w, h
    img.draft("RGB", (w, h))


def _reason(e: Exception) -> str:
    text = str(e).splitlines()[0][:120] if str(e) else ""
    return f"{type(e).__name__}: {text}" if text else type(e).__name__
