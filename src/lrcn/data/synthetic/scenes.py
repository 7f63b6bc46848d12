"""Synthetic captioned scenes, written as a COCO captions data set and a Karpathy split file.

Each image shows 1-3 objects (6 shapes x 8 colours x 2 sizes) in one of seven layouts (alone in one
of nine places, side by side, one above the other, a row, a column, one above two, one below two) on
a textured background (striped, checkered, dotted, plain). Its five captions come from a grammar of
several phrasings (see :mod:`lrcn.data.synthetic.scene_captions`). Colour, shape, size, count and the
relations all have to be read off the image: a language model alone cannot guess them.

The space is far larger than any training set: two objects alone give 96^2 x 2 layouts = 18,432
scenes, three objects 96^3 x 4 = 3.5 million, before positions and backgrounds. So a test scene has
almost never been seen whole in training (``scene_key`` is what "whole" means; the single-object
scenes, 15 %, are the exception: there are only 864 of them), and a nearest-neighbour captioner that
copies the caption of the most similar training image gets parts right and the composition wrong.

Layout of ``out``:
    images/scene_000000.jpg ...                   JPEG, ``image_size`` square
    annotations/captions_{train,val,test}.json    COCO captions layout (read by ``read_coco``)
    dataset_scenes.json                           Karpathy layout, ``filepath`` "images" (``read_karpathy(.., out)``)
Everything is a function of (seed, image index), so any worker count writes the same bytes.
"""
from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from lrcn.data.synthetic.scene_captions import captions_for, direction, place
from lrcn.errors import LrcnError
from lrcn.files import atomic_path, write_json
from lrcn.progress import track

SHAPES = ("circle", "square", "triangle", "star", "cross", "diamond")
COLOURS = {"red": (215, 35, 35), "green": (40, 165, 55), "blue": (40, 75, 215), "yellow": (240, 215, 40),
           "orange": (245, 135, 25), "purple": (135, 50, 175), "white": (245, 245, 245), "black": (20, 20, 20)}
SIZES = {"small": (0.07, 0.09), "big": (0.12, 0.15)}  # radius as a fraction of the image side
BACKGROUNDS = ("striped", "checkered", "dotted", "plain")
# layout -> probability; objects are listed left to right, top to bottom, or top/bottom first then left to right
LAYOUTS = {"single": 0.15, "pair-h": 0.25, "pair-v": 0.2, "row": 0.12, "column": 0.1, "top": 0.09, "bottom": 0.09}
COUNTS = {"single": 1, "pair-h": 2, "pair-v": 2, "row": 3, "column": 3, "top": 3, "bottom": 3}
MARGIN = 0.07  # objects stay inside the centre crop the feature cache takes (87.5 %)
GAP = 0.03  # minimal free space between two objects
SUPERSAMPLE = 4  # anti-aliasing


@dataclass(frozen=True)
class SceneObject:
    shape: str
    colour: str
    size: str
    x: float  # centre, fraction of the width
    y: float  # centre, fraction of the height
    r: float  # radius, fraction of the side


@dataclass(frozen=True)
class Scene:
    layout: str
    objects: tuple[SceneObject, ...]
    background: str

    def key(self) -> tuple:
        """What a caption can say about the scene: two scenes with the same key are "the same scene"."""
        cell = place(self.objects[0]) if self.layout == "single" else None
        return self.layout, cell, self.background, tuple((o.shape, o.colour, o.size) for o in self.objects)


def sample_scene(rng: np.random.Generator) -> Scene:
    """A random scene whose layout holds (clear relations, no overlap, inside the margins)."""
    layouts = list(LAYOUTS)
    layout = layouts[rng.choice(len(layouts), p=list(LAYOUTS.values()))]
    while True:  # sizes that cannot fit the layout (three big objects in a row) are drawn again
        kinds = _object_kinds(rng, COUNTS[layout])
        radii = [rng.uniform(*SIZES[size]) for _, _, size in kinds]
        for _ in range(20):
            centres = _place(rng, layout, radii)
            if centres is not None:
                objects = tuple(SceneObject(s, c, z, x, y, r) for (s, c, z), (x, y), r in zip(kinds, centres, radii))
                return Scene(layout, objects, str(rng.choice(BACKGROUNDS)))


def _object_kinds(rng: np.random.Generator, n: int) -> list[tuple[str, str, str]]:
    """(shape, colour, size) per object; some scenes repeat a shape and colour, so captions count ("two red stars")."""
    kinds = [(str(rng.choice(SHAPES)), str(rng.choice(list(COLOURS))), str(rng.choice(list(SIZES)))) for _ in range(n)]
    if n >= 2 and rng.random() < 0.3:
        same = rng.choice(n, size=n if (n == 3 and rng.random() < 0.3) else 2, replace=False)
        for i in same[1:]:
            kinds[i] = (*kinds[same[0]][:2], kinds[i][2])
    return kinds


def _place(rng: np.random.Generator, layout: str, radii: list[float]) -> list[tuple[float, float]] | None:
    """Centres for ``layout`` (None if this draw does not fit)."""
    lo, hi = MARGIN, 1 - MARGIN
    u = lambda a, b: rng.uniform(a, b) if a < b else np.nan  # noqa: E731
    if layout == "single":
        cx, cy = rng.integers(3, size=2)
        centres = [((cx + 0.5) / 3 + u(-0.04, 0.04), (cy + 0.5) / 3 + u(-0.04, 0.04))]
    elif layout in ("pair-h", "row", "pair-v", "column"):
        along = _spread(rng, radii)
        if along is None:
            return None
        across = u(lo + max(radii), hi - max(radii))
        centres = [(a, across + u(-0.03, 0.03)) for a in along]
        if layout in ("pair-v", "column"):
            centres = [(y, x) for x, y in centres]
    else:  # "top": one object above two side by side; "bottom": one below two
        pair = _spread(rng, radii[1:])
        if pair is None:
            return None
        first = u(lo, hi)
        second = first + (1 if layout == "top" else -1) * u(0.3, 0.6)
        centres = [(sum(pair) / 2 + u(-0.04, 0.04), first), (pair[0], second + u(-0.03, 0.03)), (pair[1], second + u(-0.03, 0.03))]
    return centres if _fits(layout, centres, radii) else None


def _spread(rng: np.random.Generator, radii: list[float]) -> list[float] | None:
    """Centres along one axis for objects of ``radii`` in that order, the free space split at random (None if too wide)."""
    slack = (1 - 2 * MARGIN) - sum(2 * r for r in radii) - GAP * (len(radii) - 1)
    if slack < 0:
        return None
    free = slack * rng.dirichlet(np.ones(len(radii) + 1))
    edges = MARGIN + np.cumsum(free[:-1]) + np.cumsum([0, *(2 * r + GAP for r in radii[:-1])])
    return [float(e + r) for e, r in zip(edges, radii)]


def _fits(layout: str, centres: list[tuple[float, float]], radii: list[float]) -> bool:
    xy = np.array(centres)
    r = np.array(radii)
    if np.isnan(xy).any() or (xy - r[:, None] < MARGIN).any() or (xy + r[:, None] > 1 - MARGIN).any():
        return False
    for i in range(len(r)):
        for j in range(i + 1, len(r)):
            if np.hypot(*(xy[i] - xy[j])) < r[i] + r[j] + GAP:
                return False
    objects = [SceneObject("", "", "", x, y, 0.0) for x, y in centres]
    return all(direction(objects[i], objects[j]) == where for i, j, where in STATED[layout])


# What the captions of each layout say: object i is ``where`` from object j, as listed in the layout's order.
STATED = {"single": [], "pair-h": [(0, 1, "left")], "pair-v": [(0, 1, "above")],
          "row": [(0, 1, "left"), (1, 2, "left")], "column": [(0, 1, "above"), (1, 2, "above")],
          "top": [(0, 1, "above"), (0, 2, "above"), (1, 2, "left")], "bottom": [(0, 1, "below"), (0, 2, "below"), (1, 2, "left")]}


# --- rendering ---

def render(scene: Scene, rng: np.random.Generator, size: int) -> np.ndarray:
    """(size, size, 3) uint8 image of ``scene``."""
    image = _background(scene.background, rng, size)
    for obj in scene.objects:
        alpha = _mask(obj, rng.uniform(-10, 10), size)[..., None]  # (S, S, 1)
        colour = np.clip(np.array(COLOURS[obj.colour]) + rng.normal(0, 8, 3), 0, 255)
        image = image * (1 - alpha) + colour * alpha
    image += rng.normal(0, rng.uniform(2, 5), image.shape)
    return np.clip(np.rint(image), 0, 255).astype(np.uint8)


def _background(kind: str, rng: np.random.Generator, size: int) -> np.ndarray:
    """(S, S, 3) float: a pattern between two low-saturation tones, mid brightness so white and black objects show."""
    y, x = np.mgrid[0:size, 0:size].astype(np.float32) / size
    theta = rng.uniform(0, np.pi)
    u, v = x * np.cos(theta) + y * np.sin(theta), -x * np.sin(theta) + y * np.cos(theta)
    if kind == "striped":
        p = 0.5 + 0.5 * np.sin(2 * np.pi * u / rng.uniform(0.07, 0.14))
    elif kind == "checkered":
        cell = rng.uniform(0.09, 0.16)
        p = ((np.floor(u / cell) + np.floor(v / cell)) % 2).astype(np.float32)
    elif kind == "dotted":
        step = rng.uniform(0.08, 0.13)
        p = (np.hypot(u % step - step / 2, v % step - step / 2) < step * 0.25).astype(np.float32)
    else:  # plain: a gentle gradient
        p = u - u.min()
        p /= p.max()
    base = rng.uniform(95, 165) + rng.normal(0, 10, 3)
    contrast = rng.uniform(20, 40) * rng.choice([-1, 1])
    return base + contrast * (p[..., None] - 0.5)


def _mask(obj: SceneObject, angle: float, size: int) -> np.ndarray:
    """(S, S) float coverage of ``obj``, tilted by ``angle`` degrees, anti-aliased by supersampling."""
    big = size * SUPERSAMPLE
    cx, cy, r = obj.x * big, obj.y * big, obj.r * big
    layer = Image.new("L", (big, big), 0)
    draw = ImageDraw.Draw(layer)
    if obj.shape == "circle":
        draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=255)
    else:
        t = np.deg2rad(angle)
        pts = _OUTLINES[obj.shape] @ np.array([[np.cos(t), np.sin(t)], [-np.sin(t), np.cos(t)]])
        draw.polygon([(cx + r * px, cy + r * py) for px, py in pts], fill=255)
    return np.asarray(layer.reduce(SUPERSAMPLE), dtype=np.float32) / 255


def _star(points: int = 5, inner: float = 0.45) -> np.ndarray:
    a = -np.pi / 2 + np.arange(2 * points) * np.pi / points
    rad = np.where(np.arange(2 * points) % 2 == 0, 1.0, inner)
    return np.stack([rad * np.cos(a), rad * np.sin(a)], 1)


_W = 0.32  # half-width of a cross's arm
_OUTLINES = {  # unit-radius outlines, y pointing down
    "square": np.array([[-0.82, -0.82], [0.82, -0.82], [0.82, 0.82], [-0.82, 0.82]]),
    "triangle": np.array([[0, -1.0], [0.95, 0.72], [-0.95, 0.72]]),
    "star": _star(),
    "cross": np.array([[-_W, -1], [_W, -1], [_W, -_W], [1, -_W], [1, _W], [_W, _W], [_W, 1], [-_W, 1], [-_W, _W], [-1, _W],
                       [-1, -_W], [-_W, -_W]]),
    "diamond": np.array([[0, -1.0], [0.68, 0], [0, 1.0], [-0.68, 0]]),
}


# --- writing the data set ---

@dataclass(frozen=True)
class _Job:
    index: int
    seed: int
    size: int
    path: Path


def make_scene(seed: int, index: int) -> tuple[Scene, list[str]]:
    """Scene ``index`` of the data set of ``seed`` and its five captions."""
    scene = sample_scene(np.random.default_rng([seed, index, 0]))
    return scene, captions_for(scene, np.random.default_rng([seed, index, 1]))


def _write_one(job: _Job) -> list[str]:
    scene, captions = make_scene(job.seed, job.index)
    pixels = render(scene, np.random.default_rng([job.seed, job.index, 2]), job.size)
    with atomic_path(job.path) as tmp:
        Image.fromarray(pixels).save(tmp, format="JPEG", quality=92)
    return captions


def write_scenes(out: str | os.PathLike, seed: int = 0, num_train: int = 4000, num_val: int = 500, num_test: int = 1000,
                 image_size: int = 128, workers: int | None = None) -> Path:
    """Write the data set (see the module docstring) and return ``out``. The JSON indexes are written last."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise LrcnError(f"{out}: exists and is not a folder")
    splits = ["train"] * num_train + ["val"] * num_val + ["test"] * num_test
    jobs = [_Job(i, seed, image_size, out / "images" / f"scene_{i:06d}.jpg") for i in range(len(splits))]
    try:
        (out / "images").mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise LrcnError(f"{out}: cannot create the folder ({e.strerror or e})") from None
    workers = min(workers or os.cpu_count() or 1, max(1, len(jobs) // 50))  # a process per 50 images at most: spawning costs
    if workers > 1:
        with ProcessPoolExecutor(workers, mp_context=get_context("spawn")) as pool:
            captions = list(track(pool.map(_write_one, jobs, chunksize=32), "synth scenes", total=len(jobs)))
    else:
        captions = list(track(map(_write_one, jobs), "synth scenes", total=len(jobs)))
    for split in ("train", "val", "test"):
        _write_coco(out / "annotations" / f"captions_{split}.json", jobs, captions, splits, split, image_size)
    _write_karpathy(out / "dataset_scenes.json", jobs, captions, splits)
    return out


def _write_coco(path: Path, jobs: list[_Job], captions: list[list[str]], splits: list[str], split: str, size: int) -> None:
    chosen = [j for j in jobs if splits[j.index] == split]
    write_json(path, {
        "info": {"description": "lrcn synthetic scenes", "version": "1.0"},
        "licenses": [],
        "images": [{"id": j.index, "file_name": j.path.name, "width": size, "height": size} for j in chosen],
        "annotations": [{"id": 5 * j.index + k, "image_id": j.index, "caption": c}
                        for j in chosen for k, c in enumerate(captions[j.index])],
    })


def _write_karpathy(path: Path, jobs: list[_Job], captions: list[list[str]], splits: list[str]) -> None:
    from lrcn.data.text import tokenize  # here, not at the top: the rendering workers need not import torch

    images = []
    for j in jobs:
        sentids = [5 * j.index + k for k in range(len(captions[j.index]))]
        images.append({"filepath": "images", "filename": j.path.name, "imgid": j.index, "split": splits[j.index],
                       "sentids": sentids,
                       "sentences": [{"tokens": tokenize(c), "raw": c, "imgid": j.index, "sentid": s}
                                     for c, s in zip(captions[j.index], sentids)]})
    write_json(path, {"dataset": "scenes", "images": images})
