"""``lrcn synth kitchen``: cooking sessions in which a hand does things to food, in the TACoS layout.

Each session is one AVI video made of several intervals. In each interval a hand holding a tool (or
nothing) comes down to an object lying on a source place, carries or slides it to a target place, and
does the activity there; the interval's semantic representation is <activity, tool, object, source,
target> and it has 2-5 sentences phrased in varied ways. The scene is built so that the SR needs the
whole interval:

- source and target are both visible in every frame (five places on the table); only the order of the
  object's positions says which is which;
- take and push move the object differently (lifted in an arc vs slid along the table); cut, wash and
  peel differ in what happens at the target (chopping and a split object, a wiggle with drops, the
  object paling under scraping);
- the tool usually matches the activity (knife for cut, sponge for wash, ...), but not always, so a
  CRF's pairwise table helps without replacing the tool classifier;
- a fraction of intervals show the tool or the object faint (steam, poor light): there the classifiers
  are uncertain, which is where feeding the CRF's probabilities instead of its MAP tuple can help;
- whole SR tuples are held out: val and test intervals only show tuples that never occur in training,
  so a sentence generator must compose.

Written with :func:`lrcn.data.video.write_video` (MPEG-4 Part 2 in AVI, like the actions set), read
back by :func:`lrcn.data.tacos.read_tacos`.
"""
from __future__ import annotations

import itertools
import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import numpy as np

from lrcn.files import write_json, write_text
from lrcn.progress import track

ACTIVITIES = ("take", "push", "cut", "wash", "peel")
TOOLS = ("hand", "knife", "spatula", "sponge", "peeler")
OBJECTS = ("carrot", "cucumber", "tomato", "bread", "egg", "onion")
PLACES = ("counter", "bowl", "plate", "sink", "board")
USUAL_TOOL = {"take": "hand", "push": "spatula", "cut": "knife", "wash": "sponge", "peel": "peeler"}

# verb forms: third person, past, gerund, past participle
VERBS = {
    "take": ("takes", "took", "taking", "taken"),
    "push": ("pushes", "pushed", "pushing", "pushed"),
    "cut": ("cuts", "cut", "cutting", "cut"),
    "wash": ("washes", "washed", "washing", "washed"),
    "peel": ("peels", "peeled", "peeling", "peeled"),
}
PLACE_WORDS = {"counter": ("counter", "counter top"), "bowl": ("bowl",), "plate": ("plate",), "sink": ("sink",),
               "board": ("board", "cutting board")}
TEMPLATES = (
    "the person {v3} the {obj} from the {src} to the {tgt} {tool}",
    "a person {past} a {obj} from the {src} to the {tgt} {tool}",
    "{tool} the person {v3} the {obj} and moves it from the {src} to the {tgt}",
    "the person is {ger} the {obj} {tool} taking it from the {src} to the {tgt}",
    "someone {v3} a {obj} {tool} from the {src} onto the {tgt}",
    "the {obj} is {pp} {tool} and moved from the {src} to the {tgt}",
    "he {v3} the {obj} from the {src} over to the {tgt} {tool}",
)
TOOL_PHRASES = {"hand": ("by hand", "with his hand", "with a hand")}
TOOL_PHRASES_DEFAULT = ("with a {t}", "with the {t}", "using a {t}")

SIZE = 128
TABLE_Y = 96
PLACE_X = (14, 39, 64, 89, 114)
FPS = 25


@dataclass(frozen=True)
class KitchenConfig:
    sessions: int = 200
    intervals_per_session: int = 4
    frames_per_interval: int = 16
    held_out: float = 0.15  # fraction of all SR tuples kept out of training (val/test use only these)
    ambiguous: float = 0.3  # fraction of intervals with a faint tool or object
    val: float = 0.1
    test: float = 0.2


def all_tuples() -> list[tuple[str, str, str, str, str]]:
    return [t for t in itertools.product(ACTIVITIES, TOOLS, OBJECTS, PLACES, PLACES) if t[3] != t[4]]


def _sample_tuple(rng: np.random.Generator, allowed: set) -> tuple[str, ...]:
    while True:
        activity = ACTIVITIES[rng.integers(len(ACTIVITIES))]
        tool = USUAL_TOOL[activity] if rng.random() < 0.75 else TOOLS[rng.integers(len(TOOLS))]
        src, tgt = rng.choice(len(PLACES), 2, replace=False)
        t = (activity, tool, OBJECTS[rng.integers(len(OBJECTS))], PLACES[src], PLACES[tgt])
        if t in allowed:
            return t


def sentences(sr: tuple[str, ...], rng: np.random.Generator) -> list[str]:
    """2-5 distinct phrasings of one SR tuple."""
    activity, tool, obj, src, tgt = sr
    v3, past, ger, pp = VERBS[activity]
    n = int(rng.integers(2, 6))
    out = []
    for i in rng.permutation(len(TEMPLATES))[:n]:
        phrases = TOOL_PHRASES.get(tool, TOOL_PHRASES_DEFAULT)
        tool_phrase = phrases[rng.integers(len(phrases))].format(t=tool)
        words = dict(v3=v3, past=past, ger=ger, pp=pp, obj=obj, tool=tool_phrase,
                     src=_pick(PLACE_WORDS[src], rng), tgt=_pick(PLACE_WORDS[tgt], rng))
        out.append(TEMPLATES[i].format(**words))
    return out


def _pick(options: tuple[str, ...], rng: np.random.Generator) -> str:
    return options[0] if rng.random() < 0.7 else options[rng.integers(len(options))]


# ---- drawing -------------------------------------------------------------------------------------------

def _background(rng: np.random.Generator) -> np.ndarray:
    img = np.empty((SIZE, SIZE, 3), np.float32)
    wall = np.array([200, 205, 215]) + rng.integers(-20, 21, 3)
    table = np.array([150, 115, 80]) + rng.integers(-15, 16, 3)
    img[: TABLE_Y - 14] = wall
    img[TABLE_Y - 14 :] = table
    img += rng.normal(0, 4, img.shape)
    for name, x in zip(PLACES, PLACE_X):
        _draw_place(img, name, x)
    return img


def _draw_place(img: np.ndarray, name: str, x: int) -> None:
    y = TABLE_Y
    if name == "counter":
        cv2.rectangle(img, (x - 11, y), (x + 11, y + 9), (110, 110, 105), -1)
    elif name == "bowl":
        cv2.ellipse(img, (x, y), (11, 9), 0, 0, 180, (40, 60, 160), -1, cv2.LINE_AA)
    elif name == "plate":
        cv2.ellipse(img, (x, y + 3), (12, 4), 0, 0, 360, (245, 245, 240), -1, cv2.LINE_AA)
        cv2.ellipse(img, (x, y + 3), (12, 4), 0, 0, 360, (170, 170, 170), 1, cv2.LINE_AA)
    elif name == "sink":
        cv2.rectangle(img, (x - 11, y - 2), (x + 11, y + 10), (185, 190, 195), -1)
        cv2.rectangle(img, (x - 8, y + 1), (x + 8, y + 8), (70, 80, 95), -1)
    elif name == "board":
        cv2.rectangle(img, (x - 11, y), (x + 11, y + 7), (215, 175, 110), -1)
        cv2.rectangle(img, (x - 11, y), (x + 11, y + 7), (140, 95, 50), 1)


OBJECT_COLOURS = {"carrot": (240, 120, 20), "cucumber": (40, 120, 40), "tomato": (220, 30, 30),
                  "bread": (200, 150, 80), "egg": (250, 250, 235), "onion": (140, 60, 150)}


def _draw_object(layer: np.ndarray, name: str, x: float, y: float, pale: float = 0.0, gap: int = 0) -> None:
    colour = np.array(OBJECT_COLOURS[name], np.float32)
    colour = tuple(float(c) for c in colour + (255 - colour) * pale)
    cx, cy = int(round(x)), int(round(y))
    if name in ("carrot", "cucumber"):
        cv2.ellipse(layer, (cx, cy), (8, 3), 0, 0, 360, colour, -1, cv2.LINE_AA)
    elif name == "bread":
        cv2.rectangle(layer, (cx - 6, cy - 5), (cx + 6, cy + 4), colour, -1)
    elif name == "egg":
        cv2.ellipse(layer, (cx, cy), (4, 6), 0, 0, 360, colour, -1, cv2.LINE_AA)
    else:
        cv2.circle(layer, (cx, cy), 6, colour, -1, cv2.LINE_AA)
    if gap:  # cut in two
        layer[cy - 8 : cy + 9, cx - gap // 2 : cx + (gap + 1) // 2] = 0


def _draw_tool(layer: np.ndarray, name: str, x: float, y: float) -> None:
    cx, cy = int(round(x)), int(round(y))
    if name == "knife":
        cv2.rectangle(layer, (cx - 2, cy + 2), (cx + 2, cy + 8), (20, 20, 20), -1)
        cv2.rectangle(layer, (cx - 2, cy + 8), (cx + 3, cy + 24), (120, 125, 140), -1)
    elif name == "spatula":
        cv2.line(layer, (cx, cy + 2), (cx, cy + 14), (120, 70, 30), 3)
        cv2.rectangle(layer, (cx - 8, cy + 14), (cx + 8, cy + 20), (40, 30, 20), -1)
    elif name == "sponge":
        cv2.rectangle(layer, (cx - 7, cy + 3), (cx + 7, cy + 13), (250, 220, 40), -1)
        cv2.rectangle(layer, (cx - 7, cy + 10), (cx + 7, cy + 13), (40, 160, 60), -1)
    elif name == "peeler":
        cv2.line(layer, (cx, cy + 2), (cx, cy + 12), (200, 40, 40), 3)
        cv2.circle(layer, (cx, cy + 17), 5, (200, 40, 40), 2, cv2.LINE_AA)


def _draw_hand(img: np.ndarray, x: float, y: float) -> None:
    cv2.line(img, (64, 0), (int(x), int(y)), (90, 110, 150), 5, cv2.LINE_AA)
    cv2.circle(img, (int(x), int(y)), 6, (230, 180, 150), -1, cv2.LINE_AA)


def _composite(img: np.ndarray, draw, alpha: float) -> None:
    """Draw with ``draw(layer)`` on an empty layer (black = transparent), blend it onto ``img`` with opacity ``alpha``."""
    layer = np.zeros((SIZE, SIZE, 3), np.float32)
    draw(layer)
    mask = (layer.sum(-1, keepdims=True) > 0) * alpha
    img[:] = img * (1 - mask) + layer * mask


def render_interval(sr: tuple[str, ...], frames: int, rng: np.random.Generator,
                    faint: str | None = None) -> np.ndarray:
    """(frames, SIZE, SIZE, 3) uint8 of one interval; ``faint`` in {None, "tool", "object"}."""
    activity, tool, obj, src, tgt = sr
    bg = _background(rng)
    x0, x1 = PLACE_X[PLACES.index(src)], PLACE_X[PLACES.index(tgt)]
    y_rest = TABLE_Y - 5
    alpha = {"tool": 1.0, "object": 1.0}
    if faint:
        alpha[faint] = float(rng.uniform(0.15, 0.35))
    n_a, n_b = frames // 4, frames // 2  # approach, transport; the rest is the activity at the target
    out = np.empty((frames, SIZE, SIZE, 3), np.uint8)
    for f in range(frames):
        img = bg.copy()
        pale, gap = 0.0, 0
        if f < n_a:  # the hand comes down to the object at the source
            s = (f + 1) / n_a
            ox, oy = x0, y_rest
            hx, hy = 64 + (x0 - 64) * s, 20 + (y_rest - 22 - 20) * s
        elif f < n_a + n_b:  # transport: lifted in an arc, or slid along the table
            s = (f - n_a + 1) / n_b
            ox = x0 + (x1 - x0) * s
            oy = y_rest - (28 * np.sin(np.pi * s) if activity != "push" else 0.0)
            if activity == "push":
                hx, hy = ox - 12 * np.sign(x1 - x0), oy - 8
            else:
                hx, hy = ox, oy - 22
        else:  # the activity at the target
            s = (f - n_a - n_b + 1) / (frames - n_a - n_b)
            ox, oy = x1, y_rest
            hx, hy = x1, y_rest - 22 - 30 * s
            if activity == "cut":
                hy = y_rest - 22 - (14 if (f - n_a - n_b) % 2 == 0 else 0)
                gap = 1 + int(3 * s)
            elif activity == "wash":
                ox = x1 + 4 * (-1) ** f
                hx, hy = ox, y_rest - 20
                for _ in range(4):
                    cv2.circle(img, (int(x1 + rng.integers(-12, 13)), int(y_rest + rng.integers(-14, 4))), 1,
                               (60, 140, 255), -1)
            elif activity == "peel":
                hx, hy = x1 - 8 + 16 * s, y_rest - 18
                pale = 0.6 * s
        _composite(img, lambda layer: _draw_object(layer, obj, ox, oy, pale, gap), alpha["object"])
        _draw_hand(img, hx, hy)
        if tool != "hand":
            _composite(img, lambda layer: _draw_tool(layer, tool, hx, hy), alpha["tool"])
        out[f] = np.clip(img, 0, 255).astype(np.uint8)
    return out


# ---- writing -------------------------------------------------------------------------------------------

def _session(args) -> tuple[str, str]:
    out, index, seed, cfg, allowed = args
    rng = np.random.default_rng([seed, index])
    video_id = f"k{index:04d}"
    rows, clips = [], []
    for i in range(cfg.intervals_per_session):
        sr = _sample_tuple(rng, allowed)
        faint = None
        if rng.random() < cfg.ambiguous:
            faint = "object" if rng.random() < 0.5 or sr[1] == "hand" else "tool"
        clips.append(render_interval(sr, cfg.frames_per_interval, rng, faint))
        start = i * cfg.frames_per_interval
        cells = [str(start), str(start + cfg.frames_per_interval - 1), *sr[:3], f"{sr[3]},{sr[4]}", *sentences(sr, rng)]
        rows.append("\t".join(cells))
    from lrcn.data.video import write_video

    write_video(Path(out) / "videos" / f"{video_id}.avi", np.concatenate(clips), fps=FPS)
    write_text(Path(out) / "alignments-text" / f"{video_id}.aligned.tsv", "\n".join(rows) + "\n")
    return video_id, ""


def write_kitchen(out: str | os.PathLike, seed: int = 0, cfg: KitchenConfig = KitchenConfig(),
                  workers: int | None = None) -> Path:
    """Write ``cfg.sessions`` session videos with their aligned sentences and splits under ``out``; returns ``out``."""
    out = Path(out)
    rng = np.random.default_rng(seed)
    tuples = all_tuples()
    held = set(map(tuple, (tuples[i] for i in rng.permutation(len(tuples))[: int(cfg.held_out * len(tuples))])))
    seen = set(tuples) - held
    n_test = max(1, round(cfg.sessions * cfg.test))
    n_val = max(1, round(cfg.sessions * cfg.val))
    split = ["test"] * n_test + ["val"] * n_val + ["train"] * (cfg.sessions - n_test - n_val)
    split = [split[i] for i in rng.permutation(cfg.sessions)]
    jobs = [(out, i, seed, cfg, seen if split[i] == "train" else held) for i in range(cfg.sessions)]
    workers = workers if workers is not None else min(4, os.cpu_count() or 1)
    if workers > 1:
        with ProcessPoolExecutor(workers) as pool:
            ids = [v for v, _ in track(pool.map(_session, jobs, chunksize=4), "kitchen sessions", total=len(jobs))]
    else:
        ids = [v for v, _ in track(map(_session, jobs), "kitchen sessions", total=len(jobs))]
    for name in ("train", "val", "test"):
        write_text(out / "splits" / f"{name}.txt", "".join(f"{v}\n" for v, s in zip(ids, split) if s == name))
    write_json(out / "kitchen.json", {"seed": seed, **asdict(cfg)})  # what generated this folder
    return out
