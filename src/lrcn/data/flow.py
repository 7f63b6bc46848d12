"""Optical flow between consecutive frames, rendered as 3-channel images as the authors did.

- ``compute_flow``: (T, H, W, 3) uint8 frames -> (T-1, H, W, 2) float32 flow in pixels (OpenCV): ``dis``
  (DIS, medium preset: the fast default), ``farneback``, or ``tvl1`` (Dual TV-L1, the two-stream
  literature's choice; ~200x slower than DIS, for fidelity checks).
- ``render_flow``: flow -> uint8 image, as the authors' code: ch1 = clip(16 fx + 128), ch2 = clip(16 fy + 128),
  ch3 = min(16 |f| + 128, 255).
- ``flip_flow_images``: a horizontal mirror of a flow image must also negate x (``negate_flow_x``).
- ``read_flow_images``: a video file -> its flow images, what ``FeatureSpec(source="flow-<method>")`` reads,
  optionally through a ``FlowCache``.

Conventions:

- **T' = T.** Image t is the flow from frame t to frame t+1; the last image repeats image T-2, so the
  flow stream stays aligned frame for frame with the RGB stream (same clip starts, same lengths). A
  one-frame video has no pair: it gives one zero-flow image (128, 128, 128). Constant frames give
  exactly 128 everywhere, never NaN (non-finite flow is rendered as zero flow).
- **Flow is computed at the video's own size, its longer side capped at** ``max_side`` **(320 by default,
  UCF101's 320x240)**, then the rendered images are resized to the requested ``size``. Resizing the
  rendered image, not the flow field, keeps the authors' scale: 1 px of motion at 320x240 is 16 levels,
  whatever size the CNN sees (they computed flow on 320x240 frames, saved JPEGs, resized those).

The flow cache (``FlowCache``) stores each video's rendered images as JPEG (quality 90), as the authors
did, packed into one file per video. Measured on 39 rendered DIS images of a 320x240 textured scene
with a moving square, pixel noise and a slow pan (2 loaded cores, see ``bench/bench_flow.py``):

=============  ===========  ===========  ===========  ==========================
format          KiB/frame   encode f/s   decode f/s   mean |error| (grey levels)
=============  ===========  ===========  ===========  ==========================
JPEG q90            3.8        ~8000        ~6900     0.55 (0.03 px; p99 2, max 10)
JPEG q95            6.0        ~7500        ~6000     0.48
PNG (level 1)      36.6         ~490        ~1000     0 (lossless)
npz (zlib)         32.6         ~270        ~1900     0 (lossless)
raw                225            -            -      0
=============  ===========  ===========  ===========  ==========================

JPEG is ~9x smaller than the lossless formats (pixel noise makes flow images poor for PNG/zlib) and
decodes 3-7x faster, for an error of half a grey level (1/30 px); uniform images (zero flow) stay exact.
All of UCF101 (~2.5 M frames) is ~10 GB as JPEG q90 versus ~80 GB as PNG.
"""
from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor
from contextlib import ExitStack
from multiprocessing import get_context
from pathlib import Path

import cv2
import numpy as np

from lrcn.data.video import check_readable, read_video
from lrcn.errors import LrcnError, WriteError
from lrcn.files import atomic_path, fingerprint, sweep_temporaries
from lrcn.progress import track

METHODS = ("dis", "farneback", "tvl1")
FLOW_SCALE = 16.0  # grey levels per pixel of motion
FLOW_CENTER = 128
MIN_SIDE = 32  # frames are padded to at least this for the estimators


def check_method(method: str) -> None:
    if method not in METHODS:
        raise LrcnError(f"flow method {method!r}: choose from {', '.join(METHODS)}")


def _flow_estimator(method: str):
    """``method`` -> function(prev_gray, next_gray) -> (H, W, 2) float32."""
    check_method(method)
    if method == "dis":
        dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
        return lambda a, b: dis.calc(a, b, None)
    if method == "farneback":
        return lambda a, b: cv2.calcOpticalFlowFarneback(a, b, None, pyr_scale=0.5, levels=3, winsize=15,
                                                         iterations=3, poly_n=5, poly_sigma=1.2, flags=0)
    tvl1 = cv2.optflow.DualTVL1OpticalFlow_create()
    return lambda a, b: tvl1.calc(a, b, None)


def compute_flow(frames: np.ndarray, method: str = "dis") -> np.ndarray:
    """(T, H, W, 3) uint8 RGB -> (T-1, H, W, 2) float32 flow (dx, dy) in pixels from frame t to t+1.

    Frames smaller than ``MIN_SIDE`` are edge-padded for the estimator and the flow cropped back: OpenCV's
    DIS rejects, or even crashes on, frames under ~12 px.
    """
    estimate = _flow_estimator(method)
    t, h, w, _ = frames.shape
    pad_y, pad_x = max(MIN_SIDE - h, 0), max(MIN_SIDE - w, 0)
    gray = [cv2.copyMakeBorder(cv2.cvtColor(f, cv2.COLOR_RGB2GRAY), 0, pad_y, 0, pad_x, cv2.BORDER_REPLICATE)
            for f in frames]
    flow = np.zeros((max(t - 1, 0), h, w, 2), np.float32)
    for i in range(t - 1):
        flow[i] = estimate(gray[i], gray[i + 1])[:h, :w]
    return flow


def render_flow(flow: np.ndarray) -> np.ndarray:
    """(..., 2) float flow in pixels -> (..., 3) uint8 image; non-finite flow renders as zero flow."""
    flow = np.asarray(flow, np.float32)
    if not np.isfinite(flow).all():
        flow = np.where(np.isfinite(flow).all(-1, keepdims=True), flow, 0)
    rows = flow.reshape(-1, flow.shape[-2] if flow.ndim > 1 else 1, 2)  # one 2-D image for OpenCV
    fx, fy = np.ascontiguousarray(rows[..., 0]), np.ascontiguousarray(rows[..., 1])
    channels = cv2.merge([fx, fy, cv2.magnitude(fx, fy)])  # (rows, cols, 3)
    # saturate_cast(16 v + 128): rounds to nearest and clips to [0, 255] in one pass (10x numpy's speed)
    image = cv2.addWeighted(channels, FLOW_SCALE, channels, 0, FLOW_CENTER, dtype=cv2.CV_8U)
    return image.reshape(*flow.shape[:-1], 3)


def negate_flow_x(channel):
    """The x channel of a mirrored flow image: 128 + 16 fx -> 128 - 16 fx, i.e. 256 - v (0 -> 255, saturated).

    Exact about 128, so zero flow stays 128. The authors' code computes 255 - v, which maps zero flow to 127
    (negation about 127.5); we keep the centre exact. Works on numpy arrays and torch tensors of uint8 alike
    (no overflow: 255 - v, plus 1 unless v is 0).
    """
    return 255 - channel + (channel != 0)


def flip_flow_images(images, channel_axis: int = -1):
    """Mirror flow images left-right and negate their x flow.

    ``channel_axis=-1``: numpy (..., H, W, 3); ``channel_axis=-3``: tensors (..., 3, H, W), as
    ``lrcn.data.transforms`` handles them.
    """
    if channel_axis not in (-1, -3):
        raise ValueError("channel_axis must be -1 (..., H, W, 3) or -3 (..., 3, H, W)")
    width_axis = -2 if channel_axis == -1 else -1
    out = images.flip(width_axis) if hasattr(images, "flip") else np.flip(images, width_axis).copy()  # torch | numpy
    x = out[..., 0] if channel_axis == -1 else out[..., 0, :, :]
    x[...] = negate_flow_x(x)
    return out


def capped_size(h: int, w: int, max_side: int | None) -> tuple[int, int]:
    """(h, w) scaled down so that the longer side is at most ``max_side`` (None: unchanged)."""
    if max_side is None or max(h, w) <= max_side:
        return h, w
    s = max_side / max(h, w)
    return max(1, round(h * s)), max(1, round(w * s))


def flow_images(frames: np.ndarray, method: str = "dis", max_side: int | None = 320) -> np.ndarray:
    """(T, H, W, 3) uint8 RGB frames -> their flow images at their own size (longer side capped): (T, h, w, 3)
    uint8, T' = T (see the module docstring)."""
    check_method(method)
    h, w = capped_size(*frames.shape[1:3], max_side)
    if (h, w) != frames.shape[1:3]:
        frames = np.stack([cv2.resize(f, (w, h), interpolation=cv2.INTER_AREA) for f in frames])
    if len(frames) == 1:
        return np.full((1, h, w, 3), FLOW_CENTER, np.uint8)  # no pair: one zero-flow image
    images = render_flow(compute_flow(frames, method))  # (T-1, h, w, 3)
    return np.concatenate([images, images[-1:]])  # repeat the last: aligned with the T RGB frames


def video_flow_images(path: str | os.PathLike, method: str = "dis", max_side: int | None = 320) -> np.ndarray:
    """Decode a video and render its flow (see :func:`flow_images`). Raises LrcnError (from ``read_video``) for a
    file that is not a decodable video."""
    check_method(method)
    return flow_images(read_video(path), method, max_side)  # frames that change size: resized to the first's


def resize_images(images: np.ndarray, size: tuple[int, int] | None) -> np.ndarray:
    """(T, h, w, 3) uint8 -> (T, H, W, 3) uint8 for ``size=(H, W)`` (area when shrinking, bilinear when growing)."""
    if size is None or tuple(size) == images.shape[1:3]:
        return images
    h, w = size
    interp = cv2.INTER_AREA if h * w < images.shape[1] * images.shape[2] else cv2.INTER_LINEAR
    return np.stack([cv2.resize(im, (w, h), interpolation=interp) for im in images])


def read_flow_images(path: str | os.PathLike, method: str = "dis", size: tuple[int, int] | None = None,
                     cache: str | os.PathLike | None = None, max_side: int | None = 320) -> np.ndarray:
    """A video's flow images: (T, H, W, 3) uint8 for ``size=(H, W)`` (None: the compute size).

    With ``cache`` (a folder), the images are read from / stored into ``FlowCache(cache, method, max_side)``,
    so each video's flow is computed once. Raises LrcnError naming the file for a bad video.
    """
    if cache is None:
        images = video_flow_images(path, method, max_side)
    else:
        images = FlowCache(cache, method, max_side).get(path)
    return resize_images(images, size)


class FlowCache:
    """Rendered flow images of videos, computed once: ``<root>/flow-<method>-<max_side>-jpeg<q>/<item key>.npz``.

    One file per video holds its T JPEG images back to back (``jpeg``: uint8 bytes, ``ends``: (T,) offsets).
    The item key hashes the video's path, size and modification time (as the feature cache), so an edited
    video is recomputed. Entries are written to a temporary file and renamed: an interrupted build resumes
    where it stopped, and a leftover temporary file is never read.
    """

    def __init__(self, root: str | os.PathLike, method: str = "dis", max_side: int | None = 320, quality: int = 90):
        check_method(method)
        self.method, self.max_side, self.quality = method, max_side, quality
        self.dir = Path(root) / f"flow-{method}-{max_side or 'full'}-jpeg{quality}"

    def entry(self, path: str | os.PathLike) -> Path:
        return self.dir / f"{fingerprint(check_readable(path))}.npz"

    def load(self, path: str | os.PathLike) -> np.ndarray:
        """(T, h, w, 3) uint8 flow images of a cached video; LrcnError if it is not cached."""
        entry = self.entry(path)
        if not entry.exists():
            raise LrcnError(f"{path}: no cached {self.method} flow in {self.dir} (build the cache first)")
        with np.load(entry) as data:
            jpeg, ends = data["jpeg"], data["ends"]
        starts = np.concatenate([[0], ends[:-1]])
        return np.stack([cv2.imdecode(jpeg[a:b], cv2.IMREAD_UNCHANGED) for a, b in zip(starts, ends)])

    def get(self, path: str | os.PathLike) -> np.ndarray:
        """Cached flow images of ``path``, computed and stored first if missing."""
        entry = self.entry(path)
        if not entry.exists():
            _store(path, entry, self.method, self.max_side, self.quality)
        return self.load(path)

    def build(self, paths, workers: int = 2, description: str = "optical flow") -> dict[str, str]:
        """Compute the flow of every video not yet cached, ``workers`` processes in parallel (<= 1: in this one); under
        torchrun, this rank's share of them (the ranks meet when all are done).

        Returns {path: error line} for the videos skipped (missing, unreadable, not a video), every rank's.
        """
        from lrcn import distributed

        distributed.init()
        errors: dict[str, str] = {}
        missing: dict[str, str] = {}  # entry -> path: a video listed twice is computed once
        sweep_temporaries(self.dir)  # what a build killed mid-write left
        for p in map(str, paths):
            try:
                entry = self.entry(p)
            except LrcnError as e:
                errors[p] = str(e)
                continue
            if not entry.exists():
                missing.setdefault(str(entry), p)
        # under torchrun, this rank's share of the missing videos (lrcn.distributed), spread over local workers
        todo = {Path(e): missing[e] for e in distributed.share_of(list(missing))}
        args = [(p, e, self.method, self.max_side, self.quality) for e, p in todo.items()]
        with ExitStack() as stack:
            run = map
            if workers > 1 and len(todo) > 1:
                pool = ProcessPoolExecutor(workers, mp_context=get_context("spawn"), initializer=cv2.setNumThreads,
                                           initargs=(1,))  # one OpenCV thread per worker: processes share the cores
                run = stack.enter_context(pool).map
            results = run(_try_store, *zip(*args)) if args else []
            for p, error in zip(todo.values(), track(results, description, total=len(todo))):
                if error:
                    errors[p] = error
        return distributed.gather(errors)


def _store(path, entry: Path, method: str, max_side: int | None, quality: int) -> None:
    images = video_flow_images(path, method, max_side)  # (T, h, w, 3)
    blobs = [cv2.imencode(".jpg", im, [cv2.IMWRITE_JPEG_QUALITY, quality])[1] for im in images]
    with atomic_path(entry, needed=sum(map(len, blobs))) as tmp, open(tmp, "wb") as f:
        np.savez(f, jpeg=np.concatenate(blobs), ends=np.cumsum([len(b) for b in blobs]))


def _try_store(path, entry: Path, method: str, max_side: int | None, quality: int) -> str | None:
    """``_store`` for the cache builder: the error line instead of an exception (a bad video skips, the rest run); an
    entry that another process wrote meanwhile is kept."""
    if entry.exists():
        return None
    try:
        _store(path, entry, method, max_side, quality)
    except WriteError:
        raise  # a full disk is not this video's fault: it stops the build
    except LrcnError as e:
        return str(e)
    return None
