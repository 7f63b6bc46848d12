"""The caption grammar of the synthetic scenes: five descriptions per scene, phrased as different people would.

Phrasings vary in word order ("a red star above a blue disc" / "a blue disc below a red star"),
synonyms (big / large, below / under, circle / disc), articles (a / the), "there is", counts ("two
green crosses", "a pair of ..."), lists ("from left to right", "in a row"), "between", and an
occasional background ("on a striped background"). Sizes are sometimes left out, as people do.
Every caption states only what the image shows: colours, shapes, counts and relations are facts of
the scene, so they cannot be guessed from the words alone.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Callable

import numpy as np

if TYPE_CHECKING:
    from lrcn.data.synthetic.scenes import Scene, SceneObject

NOUNS = {"circle": {"circle": 0.8, "disc": 0.2}, "square": {"square": 0.9, "box": 0.1}, "triangle": {"triangle": 1.0},
         "star": {"star": 1.0}, "cross": {"cross": 0.85, "plus sign": 0.15}, "diamond": {"diamond": 0.9, "rhombus": 0.1}}
SIZE_WORDS = {"small": {"small": 0.6, "little": 0.2, "tiny": 0.2}, "big": {"big": 0.55, "large": 0.45}}
RELATIONS = {"left": {"to the left of": 0.5, "left of": 0.3, "on the left of": 0.2},
             "right": {"to the right of": 0.5, "right of": 0.3, "on the right of": 0.2},
             "above": {"above": 0.8, "over": 0.2}, "below": {"below": 0.6, "under": 0.25, "beneath": 0.15}}
NEAR_IT = {"left": {"to its left": 0.6, "on its left": 0.4}, "right": {"to its right": 0.6, "on its right": 0.4},
           "above": {"above it": 0.8, "over it": 0.2}, "below": {"below it": 0.6, "under it": 0.4}}
INVERSE = {"left": "right", "right": "left", "above": "below", "below": "above"}
PLACES = {(0, 0): {"in the top left corner": 0.6, "at the top left": 0.4}, (1, 0): {"at the top": 0.7, "near the top": 0.3},
          (2, 0): {"in the top right corner": 0.6, "at the top right": 0.4}, (0, 1): {"on the left": 0.7, "at the left": 0.3},
          (1, 1): {"in the middle": 0.6, "in the centre": 0.4}, (2, 1): {"on the right": 0.7, "at the right": 0.3},
          (0, 2): {"in the bottom left corner": 0.6, "at the bottom left": 0.4}, (1, 2): {"at the bottom": 0.7, "near the bottom": 0.3},
          (2, 2): {"in the bottom right corner": 0.6, "at the bottom right": 0.4}}
BACKGROUND_WORDS = {"striped": {"striped": 1.0}, "checkered": {"checkered": 0.7, "checked": 0.3},
                    "dotted": {"dotted": 0.7, "spotted": 0.3}, "plain": {"plain": 0.6, "grey": 0.4}}
COUNT_WORDS = {2: "two", 3: "three"}
NUM_CAPTIONS = 5
MAX_TOKENS = 20


def direction(a: "SceneObject", b: "SceneObject") -> str | None:
    """Where ``a`` is from ``b`` ("left", "right", "above", "below") when one axis clearly dominates, else None."""
    dx, dy = a.x - b.x, a.y - b.y
    if abs(dx) >= 1.5 * abs(dy):
        return "left" if dx < 0 else "right"
    if abs(dy) >= 1.5 * abs(dx):
        return "above" if dy < 0 else "below"
    return None


def place(o: "SceneObject") -> tuple[int, int]:
    """(column, row) of the 3x3 grid cell holding the centre of ``o``."""
    return min(int(o.x * 3), 2), min(int(o.y * 3), 2)


class _Speaker:
    """One person describing one scene: picks words with the rng, once per phrase."""

    def __init__(self, scene: "Scene", rng: np.random.Generator):
        self.scene, self.rng = scene, rng
        self.size_p = 0.75 if len(scene.objects) < 3 else 0.5  # longer captions drop sizes more often

    def pick(self, options: dict[str, float]) -> str:
        words = list(options)
        return words[self.rng.choice(len(words), p=np.array(list(options.values())) / sum(options.values()))]

    def one_of(self, *phrases: str) -> str:
        return phrases[self.rng.integers(len(phrases))]

    def noun(self, shape: str, plural: bool = False) -> str:
        word = self.pick(NOUNS[shape])
        return word + ("es" if word[-1] in "sx" else "s") if plural else word

    def thing(self, o: "SceneObject", article: str = "a", size: bool | None = None) -> str:
        """ "a big red circle", "an orange star", "the small blue box"."""
        size = self.rng.random() < self.size_p if size is None else size
        words = ([self.pick(SIZE_WORDS[o.size])] if size else []) + [o.colour, self.noun(o.shape)]
        if article == "a" and words[0][0] in "aeiou":
            article = "an"
        return " ".join([article, *words])

    def group(self, members: list["SceneObject"]) -> str:
        """ "two red circles", "three small green stars"."""
        o = members[0]
        same_size = len({m.size for m in members}) == 1
        size = [self.pick(SIZE_WORDS[o.size])] if same_size and self.rng.random() < self.size_p else []
        return " ".join([COUNT_WORDS[len(members)], *size, o.colour, self.noun(o.shape, plural=True)])

    def rel(self, where: str) -> str:
        return self.pick(RELATIONS[where])

    def background(self) -> str:
        return f"on a {self.pick(BACKGROUND_WORDS[self.scene.background])} background"


Template = Callable[[_Speaker], str]


def captions_for(scene: "Scene", rng: np.random.Generator, n: int = NUM_CAPTIONS) -> list[str]:
    """``n`` different captions of ``scene``, each from a different phrasing where the scene allows that many."""
    templates = _templates(scene)
    captions: list[str] = []
    order = list(rng.permutation(len(templates)))
    for _ in range(20 * n):
        if len(captions) == n:
            break
        if not order:
            order = list(rng.permutation(len(templates)))
        say = _Speaker(scene, rng)
        text = templates[order.pop()](say)
        if "background" not in text and rng.random() < 0.15:
            text += " " + say.background()
        text = text[0].upper() + text[1:] + ("." if rng.random() < 0.7 else "")
        if text not in captions and len(text.replace(",", " ").split()) <= MAX_TOKENS:  # = tokenize's count here
            captions.append(text)
    return captions


def _templates(scene: "Scene") -> list[Template]:
    kinds: dict[tuple[str, str], list[SceneObject]] = {}
    for o in scene.objects:
        kinds.setdefault((o.shape, o.colour), []).append(o)
    groups = sorted(kinds.values(), key=len, reverse=True)
    if len(scene.objects) == 1:
        return _single(scene.objects[0])
    if len(groups) == 1:
        return _all_alike(scene, groups[0])
    if len(groups) == 2 and len(scene.objects) == 3:
        return _group_and_one(scene, groups[0], groups[1][0])
    if len(scene.objects) == 2:
        return _pair(*scene.objects)
    return _three(scene, *scene.objects)


def _single(a: "SceneObject") -> list[Template]:
    where = PLACES[place(a)]
    return [
        lambda s: s.thing(a),
        lambda s: f"there is {s.thing(a)}",
        lambda s: f"{s.thing(a)} {s.pick(where)}",
        lambda s: f"there is {s.thing(a)} {s.pick(where)}",
        lambda s: f"{s.thing(a)} {s.background()}",
        lambda s: f"a picture of {s.thing(a)} {s.pick(where)}",
        lambda s: f"{s.one_of('a single', 'one')} {s.pick(SIZE_WORDS[a.size])} {a.colour} {s.noun(a.shape)}",
        lambda s: f"{s.pick(where)} there is {s.thing(a)}",
    ]


def _pair(a: "SceneObject", b: "SceneObject") -> list[Template]:
    """``a`` is left of or above ``b`` (the layout's order)."""
    where = direction(a, b)
    horizontal = where in ("left", "right")
    first, second = ("on the left", "on the right") if horizontal else ("at the top", "at the bottom")
    side_by_side = ("side by side", "next to each other") if horizontal else ("one above the other",)
    return [
        lambda s: f"{s.thing(a)} {s.rel(where)} {s.thing(b)}",
        lambda s: f"{s.thing(b)} {s.rel(INVERSE[where])} {s.thing(a)}",
        lambda s: f"there is {s.thing(a)} {s.rel(where)} {s.thing(b)}",
        lambda s: f"{s.thing(a, 'the')} is {s.rel(where)} {s.thing(b, 'the')}",
        lambda s: f"{s.thing(b, 'the')} is {s.rel(INVERSE[where])} {s.thing(a, 'the')}",
        lambda s: f"{s.thing(a)} and {s.thing(b)} {s.one_of(*side_by_side)}",
        lambda s: f"{s.thing(a)} with {s.thing(b)} {s.pick(NEAR_IT[INVERSE[where]])}",
        lambda s: f"{s.thing(a)} {first} and {s.thing(b)} {second}",
        lambda s: f"two shapes, {s.thing(a)} and {s.thing(b)}",
    ] + ([lambda s: f"{s.thing(a)} next to {s.thing(b)}"] if horizontal else [])


def _three(scene: "Scene", a: "SceneObject", b: "SceneObject", c: "SceneObject") -> list[Template]:
    """Three different objects, in the layout's order (see ``scenes.LAYOUTS``)."""
    listed = lambda s: f"{s.thing(a)}, {s.thing(b)} and {s.thing(c)}"  # noqa: E731
    common: list[Template] = [lambda s: f"there are three shapes, {listed(s)}", lambda s: f"three shapes: {listed(s)}"]
    if scene.layout in ("row", "column"):
        row = scene.layout == "row"
        ends = ("on the left", "in the middle", "on the right") if row else ("at the top", "in the middle", "at the bottom")
        return common + [
            lambda s: f"{listed(s)} {s.one_of('in a row', 'side by side') if row else s.one_of('in a column', 'stacked up')}",
            lambda s: f"{listed(s)} from {'left to right' if row else 'top to bottom'}",
            lambda s: f"{s.thing(b)} between {s.thing(a)} and {s.thing(c)}",
            lambda s: f"{s.thing(a)} {ends[0]}, {s.thing(b)} {ends[1]} and {s.thing(c)} {ends[2]}",
            lambda s: f"{s.thing(a)} {s.rel(direction(a, b))} {s.thing(b)}, and {s.thing(c)} {ends[2]}",
        ]
    up = scene.layout == "top"  # a above b and c, or below them
    return common + [
        lambda s: f"{s.thing(a)} {s.rel('above' if up else 'below')} {s.thing(b)} and {s.thing(c)}",
        lambda s: f"{s.thing(b)} and {s.thing(c)} {s.rel('below' if up else 'above')} {s.thing(a)}",
        lambda s: f"{s.thing(b)} next to {s.thing(c)}, with {s.thing(a)} {'above' if up else 'below'} them",
        lambda s: f"{s.thing(a)} {'at the top' if up else 'at the bottom'}, {s.thing(b)} and {s.thing(c)} {'below' if up else 'above'} it",
        lambda s: f"{s.thing(b)} on the left, {s.thing(c)} on the right and {s.thing(a)} {'above' if up else 'below'}",
    ]


def _all_alike(scene: "Scene", members: list["SceneObject"]) -> list[Template]:
    """Two or three objects of one shape and colour: counting is the point."""
    o, n = members[0], len(members)
    arrangement = {"pair-h": ("side by side", "next to each other"), "pair-v": ("one above the other",),
                   "row": ("in a row",), "column": ("in a column", "stacked up"),
                   "top": ("in a triangle",), "bottom": ("in a triangle",)}[scene.layout]
    templates: list[Template] = [
        lambda s: s.group(members),
        lambda s: f"{s.group(members)} {s.one_of(*arrangement)}",
        lambda s: f"there are {s.group(members)}",
        lambda s: f"{COUNT_WORDS[n]} {s.noun(o.shape, plural=True)}, {'both' if n == 2 else 'all'} {o.colour}",
        lambda s: f"{'a pair' if n == 2 else 'a group'} of {o.colour} {s.noun(o.shape, plural=True)}",
    ]
    if n == 2 and members[0].size != members[1].size:
        big, small = sorted(members, key=lambda m: m.size != "big")
        templates += [lambda s: f"{s.thing(big, size=True)} {s.rel(direction(big, small))} {s.thing(small, size=True)}",
                      lambda s: f"two {o.colour} {s.noun(o.shape, plural=True)}, one big and one small"]
    return templates


def _group_and_one(scene: "Scene", members: list["SceneObject"], other: "SceneObject") -> list[Template]:
    """Two alike and one different: "two red circles and a blue star", and where the odd one is."""
    templates: list[Template] = [
        lambda s: f"{s.group(members)} and {s.thing(other)}",
        lambda s: f"{s.thing(other)} and {s.group(members)}",
        lambda s: f"there are {s.group(members)} and {s.thing(other)}",
        lambda s: f"{s.thing(other)} with {s.group(members)}",
        lambda s: f"three shapes: {s.group(members)} and {s.thing(other)}",
    ]
    wheres = {direction(other, m) for m in members}
    if len(wheres) == 1 and None not in wheres:
        where = wheres.pop()
        templates += [lambda s: f"{s.thing(other)} {s.rel(where)} {s.group(members)}",
                      lambda s: f"{s.group(members)} {s.rel(INVERSE[where])} {s.thing(other)}"]
    elif scene.layout in ("row", "column") and scene.objects[1] is other:
        templates += [lambda s: f"{s.thing(other)} between {s.group(members)}"]
    return templates
