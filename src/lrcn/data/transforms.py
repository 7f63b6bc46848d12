"""Frame transforms, as pure functions on tensors.

A *view* is one way of cropping a frame for the CNN, as in the authors' Caffe code: frames are
resized (aspect ratio ignored, like Caffe's 256x256 resize) to ``size / 0.875`` and cropped to
``size`` (227 of 256 in the paper). The views of a frame are:

- ``center``: the centre crop (test time, ``--crops 1``);
- ``center+flip``: the centre crop and its mirror (cached training views: flip augmentation for free);
- ``ten``: four corners and centre, each also mirrored (``--crops 10``, ``caffe.io.oversample``).
"""
from __future__ import annotations

from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F

from lrcn.data.video import clip_indices

VIEWS = {"center": 1, "center+flip": 2, "ten": 10}
CROP_RATIO = 0.875


def to_tensor(frames: np.ndarray) -> torch.Tensor:
    """(T, H, W, 3) uint8 -> (T, 3, H, W) uint8."""
    return torch.from_numpy(np.ascontiguousarray(frames)).permute(0, 3, 1, 2)


def resize(frames: torch.Tensor, size: int) -> torch.Tensor:
    """(T, 3, H, W) uint8 -> (T, 3, size, size) uint8, antialiased."""
    if frames.shape[-2:] == (size, size):
        return frames
    out = F.interpolate(frames.float(), size=(size, size), mode="bilinear", antialias=True, align_corners=False)
    return out.round_().clamp_(0, 255).to(torch.uint8)


def hflip(frames: torch.Tensor) -> torch.Tensor:
    """Mirror (..., 3, H, W) images left-right. Flow images need ``lrcn.data.flow.flip_flow_images`` instead."""
    return frames.flip(-1)


def _check(views: str) -> None:
    if views not in VIEWS:
        raise ValueError(f"unknown views {views!r}; choose from {sorted(VIEWS)}")


def crop_views(frames: torch.Tensor, size: int, views: str = "center",
               mirror: Callable[[torch.Tensor], torch.Tensor] = hflip) -> torch.Tensor:
    """(T, 3, H, W) uint8 -> (T, V, 3, size, size) uint8 for the named views (see module doc).

    ``mirror`` makes the mirrored views: a plain flip for RGB; for flow it must also negate x.
    """
    _check(views)
    full = resize(frames, round(size / CROP_RATIO))
    s, m = full.shape[-1], (full.shape[-1] - size) // 2
    center = full[..., m : m + size, m : m + size]
    if views == "center":
        crops = [center]
    elif views == "center+flip":
        crops = [center, mirror(center)]
    else:
        e = s - size
        corners = [full[..., y : y + size, x : x + size] for y, x in ((0, 0), (0, e), (e, 0), (e, e))]
        crops = corners + [center]
        crops = crops + [mirror(c) for c in crops]
    return torch.stack(crops, dim=1)


def mirrored(views: str) -> list[bool]:
    """Which of the named views (in ``crop_views`` order) are mirror images: their labels or scores need swapping."""
    _check(views)
    n = VIEWS[views]
    return [False] * (n - n // 2) + [True] * (n // 2)  # each multi-view set: its plain crops, then their mirrors


def random_clip_crop(frames: torch.Tensor, size: int, generator: torch.Generator | None = None,
                     mirror: Callable[[torch.Tensor], torch.Tensor] | None = None) -> torch.Tensor:
    """Training augmentation for end-to-end fine-tuning: one random crop for the whole clip, then ``mirror`` of it
    all when given (the caller draws whether to mirror: a mirrored "moves left" clip is "moves right").

    (T, 3, H, W) uint8 -> (T, 3, size, size) uint8, as the authors' ``sequence_input_layer.py``.
    """
    full = resize(frames, round(size / CROP_RATIO))
    e = full.shape[-1] - size
    y, x = (int(v) for v in torch.randint(0, e + 1, (2,), generator=generator))
    out = full[..., y : y + size, x : x + size]
    if mirror is not None:
        out = mirror(out)
    return out


def random_clip_indices(num_frames: int, clip_len: int, generator: torch.Generator | None = None) -> np.ndarray:
    """Frame indices (clip_len,) of a training clip at a uniformly random start (looped if the video is short)."""
    start = int(torch.randint(0, max(num_frames - clip_len, 0) + 1, (), generator=generator))
    return clip_indices(num_frames, start, clip_len)


def time_reversed(clip: torch.Tensor, label: int, reverse: list[int],
                  generator: torch.Generator | None = None) -> tuple[torch.Tensor, int]:
    """Time-reversal augmentation: a clip (L, ...) of a class that the permutation ``reverse`` moves is played
    backwards half the time, labelled as its pair."""
    if reverse[label] != label and torch.rand((), generator=generator) < 0.5:
        return clip.flip(0), reverse[label]
    return clip, label
