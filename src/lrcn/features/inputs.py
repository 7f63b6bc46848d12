"""Any input a user can give -> the crops the CNN sees.

An input is a file path, its raw bytes (an upload), a ``PIL.Image`` or a numpy array of frames
(``(T, H, W, 3)``, or ``(H, W, 3)`` for one image), uint8 RGB. A frame source says what to read from it:
``rgb`` (the frames of a video), ``image`` (one still image) or ``flow-<method>`` (the video's optical flow
rendered as images, :mod:`lrcn.data.flow`). Bad input raises LrcnError naming it.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Union

import numpy as np
import torch

from lrcn.data.transforms import crop_views, hflip, to_tensor
from lrcn.errors import LrcnError
from lrcn.features.spec import FeatureSpec

Input = Union[str, os.PathLike, bytes, np.ndarray, "PIL.Image.Image"]  # noqa: F821


def name_of(x: Input) -> str | None:
    """The path of a path input (answers and errors name it); None for bytes, images and arrays."""
    return str(x) if isinstance(x, (str, os.PathLike)) else None


def read_frames(x: Input, source: str, size: int, flow_cache: Path | None = None, flow_side: int = 320,
                name: str | None = None) -> np.ndarray:
    """(T, size, size, 3) uint8 frames of ``x`` for the frame source ``source`` (one frame for an image)."""
    if source == "image":
        from lrcn.data.images import load_image

        if isinstance(x, np.ndarray):
            x = _image_array(x, name)
        return np.array(load_image(x, size=(size, size), name=name))[None]
    if source == "rgb":
        from lrcn.data.video import read_video, resize_frames

        if isinstance(x, np.ndarray):
            return resize_frames(frames_array(x, name), (size, size))
        return read_video(_video_input(x), size=(size, size), name=name)
    if source.startswith("flow-"):
        from lrcn.data.flow import flow_images, read_flow_images, resize_images

        method = source.removeprefix("flow-")
        if isinstance(x, (str, os.PathLike)):
            return read_flow_images(x, method, (size, size), cache=flow_cache, max_side=flow_side)
        if isinstance(x, np.ndarray):
            frames = frames_array(x, name)
        else:
            from lrcn.data.video import read_video

            frames = read_video(_video_input(x), name=name)
        return resize_images(flow_images(frames, method, flow_side), (size, size))
    raise ValueError(f"unknown frame source {source!r}")


def mirror_of(source: str):
    """How to mirror (..., 3, H, W) images of a frame source: a plain flip, or for flow also negating x."""
    if source.startswith("flow-"):
        from functools import partial

        from lrcn.data.flow import flip_flow_images

        return partial(flip_flow_images, channel_axis=-3)
    return hflip


def frame_views(x: Input, spec: FeatureSpec, flow_cache: Path | None = None, name: str | None = None) -> torch.Tensor:
    """``x`` as the CNN sees it: (T, V, 3, S, S) uint8, the views ``spec.views`` of every frame."""
    frames = read_frames(x, spec.source, spec.decode_size, flow_cache, spec.flow_side, name)
    return crop_views(to_tensor(frames), spec.image_size, spec.views, mirror_of(spec.source))


def _video_input(x: Input):
    if isinstance(x, (str, os.PathLike, bytes, bytearray, memoryview)):
        return x
    raise LrcnError(f"{type(x).__name__}: not a video (give a path, bytes or a (T, H, W, 3) uint8 array)")


def frames_array(x: np.ndarray, name: str | None) -> np.ndarray:
    """(T, H, W, 3) uint8 RGB frames (one (H, W, 3) frame becomes T = 1), or LrcnError."""
    if x.ndim == 3:
        x = x[None]
    if x.ndim != 4 or x.shape[-1] != 3 or x.dtype != np.uint8 or 0 in x.shape:
        raise LrcnError(f"{name or 'frames'}: expected (T, H, W, 3) uint8 RGB frames, got {x.dtype} {x.shape}")
    return x


def _image_array(x: np.ndarray, name: str | None):
    from PIL import Image

    if x.ndim != 3 or x.shape[-1] != 3 or x.dtype != np.uint8 or 0 in x.shape:
        raise LrcnError(f"{name or 'image'}: expected an (H, W, 3) uint8 RGB image, got {x.dtype} {x.shape}")
    return Image.fromarray(x, "RGB")
