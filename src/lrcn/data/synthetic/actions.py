"""Synthetic actions in UCF101's exact layout: six pairs of classes that are time reversals of each other.

Each pair is one process rendered forwards (the first class) or backwards (the second), so the frames of a
video of either class have the same distribution: a single frame cannot tell a class from its pair, only
the order of the frames can. Appearance tells the pair apart (each pair has its own background texture and
object shape family, as scenes and objects do in UCF101), never the direction. Everything else is random
per video: colours, size, path, speed, a drifting distractor, sensor noise, small camera shake; a group
(UCF101's gXX) shares its background, and the splits hold whole groups out, as UCF101's do.

The fade pair has no motion (an optical-flow stream cannot separate it; RGB over time can). Grow/shrink
pulse as they scale, so a single flow frame mostly shows the pulse, not the slow trend.

The objects are large (fade 36-46 px, revolve 34-40, approach 22-26 and coming within 1.6 sizes of each other):
the demo's frozen CNN sees 128-px frames through a 3x3 grid, and smaller objects left the change over time too
faint for LRCN to learn from a few hundred videos (held-out RGB accuracy 0.91 with fade 24-34 and approach 18-22;
with revolve 26-32, three training seeds gave 0.94-0.96, one of them missing a revolve direction; with 34-40,
0.956-0.972 for the same seeds, on OpenVINO fp32 features). Larger approaching objects (26-30) helped RGB further
but let flow's single frame catch flow's LRCN: the pair then shows in one flow frame.
"""
from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path

import cv2
import numpy as np

from lrcn.data.video import write_video
from lrcn.files import write_text
from lrcn.progress import track

WIDTH, HEIGHT, FPS = 320, 240, 25
MARGIN = 4  # camera shake, pixels
QUALITY = 4  # MPEG-4 qscale: sharp enough for the shapes, small enough files

# (forward class, its time reversal), the background texture and the object shapes of that pair.
PAIRS = [
    ("MoveLeft", "MoveRight"),
    ("MoveUp", "MoveDown"),
    ("Grow", "Shrink"),
    ("RevolveClockwise", "RevolveCounterclockwise"),
    ("FadeIn", "FadeOut"),
    ("Approach", "Separate"),
]
CLASSES = [name for pair in PAIRS for name in pair]
MOTIONLESS = ["FadeIn", "FadeOut"]
# A left-right mirror turns these classes into each other: a horizontal flip (augmentation or a test view)
# must swap their labels, or not be used.
MIRRORED = {"MoveLeft": "MoveRight", "MoveRight": "MoveLeft",
            "RevolveClockwise": "RevolveCounterclockwise", "RevolveCounterclockwise": "RevolveClockwise"}
TEXTURES = ["grating", "checker", "blobs", "dots", "plaid", "rings"]
SHAPES = [("disc", "ellipse"), ("square", "bar"), ("ring", "hexagon"), ("triangle", "triangle"),
          ("cross", "cross"), ("diamond", "diamond")]
ALL_SHAPES = sorted({s for pair in SHAPES for s in pair})


@dataclass(frozen=True)
class _Job:
    path: Path
    seed: int
    pair: int
    reverse: bool
    group: int
    video: int
    num_frames: int


def write_actions(out: str | os.PathLike, seed: int = 0, videos_per_class: int = 64, num_frames: int = 24,
                  groups: int = 25, workers: int | None = None) -> Path:
    """Write the data set to ``out`` (UCF101 layout, MPEG-4 Part 2 in AVI, 320x240, 25 fps) and return ``out``.

    Video ``i`` of a class is ``v_<Class>_g<i % groups + 1>_c<i // groups + 1>.avi`` (``groups`` is capped at
    ``videos_per_class``, so no group is empty). Split k tests the groups UCF101's split k would test (see :func:`held_out_groups`); the list files are
    written last, so an interrupted run never looks like a complete data set. Videos are rendered in ``workers``
    processes (default: one per core); each video's pixels depend only on the seed, its class and its index.
    """
    out, groups = Path(out), min(groups, videos_per_class)
    jobs = []
    for c, name in enumerate(CLASSES):
        for i in range(videos_per_class):
            group, clip = i % groups + 1, i // groups + 1
            jobs.append(_Job(out / name / f"v_{name}_g{group:02d}_c{clip:02d}.avi", seed, c // 2, c % 2 == 1,
                             group, i, num_frames))
    workers = workers or os.cpu_count() or 1
    with ProcessPoolExecutor(workers, mp_context=get_context("spawn")) as pool:
        for _ in track(pool.map(_render_and_write, jobs, chunksize=4), "synth actions", total=len(jobs)):
            pass
    _write_lists(out, jobs, groups)
    return out


def held_out_groups(split: int, groups: int = 25) -> list[int]:
    """The groups split ``split`` (1-3) tests: UCF101's groups 7(k-1)+1..7k of 25, scaled to ``groups``.

    Group g stands at (g - 1/2) * 25 / groups on UCF101's scale; with fewer than 4 groups some splits test nothing.
    """
    return [g for g in range(1, groups + 1) if 7 * (split - 1) <= (g - 0.5) * 25 / groups < 7 * split]


def _write_lists(out: Path, jobs: list[_Job], groups: int) -> None:
    write_text(out / "ucfTrainTestlist" / "classInd.txt", "".join(f"{i} {n}\n" for i, n in enumerate(CLASSES, 1)))
    for split in (1, 2, 3):
        held_out = held_out_groups(split, groups)
        train = [j for j in jobs if j.group not in held_out]
        test = [j for j in jobs if j.group in held_out]
        rel = lambda j: f"{j.path.parent.name}/{j.path.name}"  # noqa: E731
        label = lambda j: CLASSES.index(j.path.parent.name) + 1  # noqa: E731
        write_text(out / "ucfTrainTestlist" / f"trainlist0{split}.txt", "".join(f"{rel(j)} {label(j)}\n" for j in _ordered(train)))
        write_text(out / "ucfTrainTestlist" / f"testlist0{split}.txt", "".join(f"{rel(j)}\n" for j in _ordered(test)))


def _ordered(jobs: list[_Job]) -> list[_Job]:
    return sorted(jobs, key=lambda j: (CLASSES.index(j.path.parent.name), j.group, j.video))


def _render_and_write(job: _Job) -> None:
    cls = 2 * job.pair + int(job.reverse)
    scene_seed = [job.seed, cls, job.group, 1]  # the clips of a group share their scene, as in UCF101
    video_seed = [job.seed, cls, job.group, job.video, 2]
    write_video(job.path, render(scene_seed, video_seed, job.pair, job.reverse, job.num_frames), fps=FPS, quality=QUALITY)


def render(scene_seed: list[int], video_seed: list[int], pair: int, reverse: bool, num_frames: int) -> np.ndarray:
    """One video of pair ``pair``: (T, 240, 320, 3) uint8; ``reverse`` plays it backwards (the pair's second class)."""
    scene, rng = np.random.default_rng(scene_seed), np.random.default_rng(video_seed)
    t = num_frames
    background = _texture(TEXTURES[pair], scene, HEIGHT + 2 * MARGIN, WIDTH + 2 * MARGIN)
    light = background.mean() > 110
    objects = trajectory(pair, rng, t)
    distractor = _drifting(rng, t, speed=rng.uniform(0.0, 0.6))
    d_shape, d_colour, d_size = str(rng.choice(ALL_SHAPES)), _colour(rng, not light), rng.uniform(7, 11)
    shape = str(rng.choice(SHAPES[pair]))
    colour = _colour(rng, not light)
    angle, aspect = rng.uniform(0, np.pi), rng.uniform(0.55, 0.8)
    shake = np.rint(rng.normal(0, 1.0, (t, 2))).clip(-MARGIN, MARGIN).astype(int)
    noise = rng.normal(0, rng.uniform(2, 4), (3, HEIGHT, WIDTH, 1)).astype(np.float32)
    frames = np.empty((t, HEIGHT, WIDTH, 3), np.uint8)
    for i in range(t):
        dy, dx = shake[i]
        frame = background[MARGIN + dy : MARGIN + dy + HEIGHT, MARGIN + dx : MARGIN + dx + WIDTH].copy()
        offset = np.array([-dx, -dy])
        _draw(frame, d_shape, distractor[i] + offset, d_size, angle, aspect, d_colour, 1.0)
        for x, y, size, alpha in objects[i]:
            _draw(frame, shape, np.array([x, y]) + offset, size, angle, aspect, colour, alpha)
        frame += noise[rng.integers(3)]
        frames[i] = frame.clip(0, 255)
    return frames[::-1].copy() if reverse else frames


# --- the six processes: (rng, T) -> per frame the objects [(x, y, size, opacity)], forwards ---

def _move(axis: int):
    def action(rng: np.random.Generator, t: int) -> list:
        extent = (WIDTH, HEIGHT)[axis]
        length = rng.uniform(0.4, 0.6) * extent
        start = rng.uniform(45 + length, extent - 45)  # forwards = towards smaller coordinates (left, up)
        along = start - length * np.linspace(0, 1, t)
        across = rng.uniform(50, (HEIGHT, WIDTH)[axis] - 50) + rng.uniform(-8, 8) * np.linspace(-1, 1, t)
        size = rng.uniform(22, 32)
        xy = (along, across) if axis == 0 else (across, along)
        return [[(xy[0][i], xy[1][i], size, 1.0)] for i in range(t)]
    return action


def _grow(rng: np.random.Generator, t: int) -> list:
    """Size grows about 2x, while pulsing fast enough that frame-to-frame change is mostly the pulse."""
    u = np.linspace(0, 1, t)
    period = rng.uniform(5, 8)
    log_size = np.log(rng.uniform(14, 17)) + np.log(rng.uniform(2.2, 2.8)) * u
    log_size += rng.uniform(0.12, 0.18) * np.sin(2 * np.pi * np.arange(t) / period + rng.uniform(0, 2 * np.pi))
    x, y = rng.uniform(90, WIDTH - 90), rng.uniform(75, HEIGHT - 75)
    return [[(x, y, s, 1.0)] for s in np.exp(log_size)]


def _revolve(rng: np.random.Generator, t: int) -> list:
    """Clockwise on screen (y grows downwards) around a centre, starting at a uniform angle."""
    cx, cy = rng.uniform(135, WIDTH - 135), rng.uniform(110, HEIGHT - 110)
    radius = rng.uniform(60, 75)
    theta = rng.uniform(0, 2 * np.pi) + rng.uniform(0.6, 1.0) * 2 * np.pi * np.linspace(0, 1, t)
    size = rng.uniform(34, 40)
    return [[(cx + radius * np.cos(a), cy + radius * np.sin(a), size, 1.0)] for a in theta]


def _fade(rng: np.random.Generator, t: int) -> list:
    """A still object appears: opacity 0 -> 1 (no motion at all, apart from the camera's shake)."""
    x, y = rng.uniform(70, WIDTH - 70), rng.uniform(70, HEIGHT - 70)
    size = rng.uniform(36, 46)
    alpha = np.linspace(0, 1, t) ** rng.uniform(0.8, 1.25)
    return [[(x, y, size, a)] for a in alpha]


def _approach(rng: np.random.Generator, t: int) -> list:
    """Two shapes on a line through a centre move towards each other until they nearly touch."""
    cx, cy = rng.uniform(150, WIDTH - 150), rng.uniform(110, HEIGHT - 110)
    direction = rng.uniform(0, np.pi)
    ux, uy = np.cos(direction), np.sin(direction)
    size = rng.uniform(22, 26)
    far = min(rng.uniform(100, 120), 125 / max(abs(ux), 1e-3), 85 / max(abs(uy), 1e-3))  # both stay in the frame
    gap = far + (1.6 * size - far) * np.linspace(0, 1, t)
    return [[(cx + ux * g, cy + uy * g, size, 1.0), (cx - ux * g, cy - uy * g, size, 1.0)] for g in gap]


_PROCESSES = [_move(0), _move(1), _grow, _revolve, _fade, _approach]


def trajectory(pair: int, rng: np.random.Generator, num_frames: int) -> list[list[tuple[float, float, float, float]]]:
    """The objects of pair ``pair``'s first class, per frame: [(x, y, size, opacity), ...]."""
    return _PROCESSES[pair](rng, num_frames)


def _drifting(rng: np.random.Generator, t: int, speed: float) -> np.ndarray:
    """(T, 2) positions of a distractor drifting in a random direction."""
    start = rng.uniform([30, 30], [WIDTH - 30, HEIGHT - 30])
    heading = rng.uniform(0, 2 * np.pi)
    return start + speed * np.arange(t)[:, None] * np.array([np.cos(heading), np.sin(heading)])


# --- drawing ---

def _colour(rng: np.random.Generator, bright: bool) -> np.ndarray:
    """A saturated colour, bright on a dark background and dark on a light one."""
    hue = rng.uniform(0, 1)
    rgb = np.clip(np.abs((hue * 6 + np.array([0, 4, 2])) % 6 - 3) - 1, 0, 1)  # HSV hue -> RGB, full saturation
    return (rgb * 150 + 105 if bright else rgb * 80 + 10).astype(np.float32)


def _texture(kind: str, rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """(h, w, 3) float32 background: a pattern in [0, 1] blended between two related colours."""
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    theta = rng.uniform(0, np.pi)
    u, v = x * np.cos(theta) + y * np.sin(theta), -x * np.sin(theta) + y * np.cos(theta)
    if kind == "grating":
        p = 0.5 + 0.5 * np.sin(u * 2 * np.pi / rng.uniform(14, 30))
    elif kind == "checker":
        cell = rng.uniform(18, 34)
        p = ((np.floor(u / cell) + np.floor(v / cell)) % 2).astype(np.float32)
        p = cv2.GaussianBlur(p, (0, 0), 1.5)
    elif kind == "blobs":
        coarse = rng.random((h // 24 + 2, w // 24 + 2)).astype(np.float32)
        p = cv2.resize(coarse, (w, h), interpolation=cv2.INTER_CUBIC).clip(0, 1)
    elif kind == "dots":
        step = rng.uniform(16, 26)
        p = ((np.hypot((u % step) - step / 2, (v % step) - step / 2) < step * 0.22)).astype(np.float32)
        p = cv2.GaussianBlur(p, (0, 0), 1.0)
    elif kind == "plaid":
        p = 0.25 * (2 + np.sin(u * 2 * np.pi / rng.uniform(20, 36)) + np.sin(v * 2 * np.pi / rng.uniform(20, 36)))
    elif kind == "rings":
        cx, cy = rng.uniform(0, w), rng.uniform(0, h)
        p = 0.5 + 0.5 * np.sin(np.hypot(x - cx, y - cy) * 2 * np.pi / rng.uniform(16, 30))
    else:
        raise ValueError(kind)
    base = rng.uniform(30, 90, 3) if rng.random() < 0.5 else rng.uniform(150, 215, 3)
    contrast = rng.uniform(25, 45) * rng.choice([-1, 1], 3) * rng.uniform(0.6, 1.0, 3)
    return (base + contrast * (p[..., None] - 0.5)).astype(np.float32)


def _draw(frame: np.ndarray, shape: str, centre: np.ndarray, size: float, angle: float, aspect: float,
          colour: np.ndarray, alpha: float) -> None:
    """Blend an anti-aliased shape into ``frame`` (H, W, 3 float32) in place, touching only its bounding box."""
    r = int(np.ceil(size * 1.5)) + 2
    x0, y0 = int(centre[0]) - r, int(centre[1]) - r
    xs, ys = slice(max(x0, 0), min(x0 + 2 * r + 1, frame.shape[1])), slice(max(y0, 0), min(y0 + 2 * r + 1, frame.shape[0]))
    if xs.start >= xs.stop or ys.start >= ys.stop or alpha <= 0:
        return
    y, x = np.mgrid[ys, xs].astype(np.float32)
    x, y = x - centre[0], y - centre[1]
    c, s = np.cos(angle), np.sin(angle)
    x, y = c * x + s * y, -s * x + c * y
    cover = np.clip(0.5 - _distance(shape, x, y, size, aspect), 0, 1)[..., None] * alpha  # (h, w, 1)
    frame[ys, xs] += cover * (colour - frame[ys, xs])


def _distance(shape: str, x: np.ndarray, y: np.ndarray, r: float, aspect: float) -> np.ndarray:
    """Signed distance (pixels, negative inside) to a shape of radius ``r`` centred at the origin."""
    ax, ay = np.abs(x), np.abs(y)
    if shape == "disc":
        return np.hypot(x, y) - r
    if shape == "ellipse":
        return (np.hypot(x / r, y / (r * aspect)) - 1) * r * aspect
    if shape == "square":
        return np.maximum(ax, ay) - 0.85 * r
    if shape == "bar":
        return np.maximum(ax - r, ay - r * aspect * 0.6)
    if shape == "ring":
        return np.abs(np.hypot(x, y) - 0.72 * r) - 0.28 * r
    if shape == "hexagon":
        return np.maximum(ay, 0.866 * ax + 0.5 * ay) - 0.87 * r
    if shape == "triangle":
        return np.maximum.reduce([-y, 0.866 * x + 0.5 * y, -0.866 * x + 0.5 * y]) - 0.5 * r
    if shape == "cross":
        return np.minimum(np.maximum(ax - r, ay - 0.35 * r), np.maximum(ax - 0.35 * r, ay - r))
    if shape == "diamond":
        return (ax + ay) * 0.7071 - 0.75 * r
    raise ValueError(shape)
