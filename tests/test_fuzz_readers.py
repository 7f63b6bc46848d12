"""Property-based fuzzing of every reader of a real data-set format.

Each reader gets (a) valid-looking files in its format, mutated (lines or keys dropped, duplicated,
reordered; fields replaced by wrong types, unicode digits, huge or negative numbers, NUL, U+2028;
CRLF/CR line ends, a BOM, other encodings, stray bytes, truncation, very long lines, empty files)
and (b) random bytes and text. The property: the reader returns a well-formed answer, or raises
LrcnError whose message is one line naming the file. Any other exception is a bug.

The default suite runs a few dozen derandomized examples per reader; ``-m slow`` runs 1000 random
ones per reader, collects every unclean case instead of stopping at the first, and prints a tally
(``pytest -s``).
"""
from __future__ import annotations

import copy
import dataclasses
import json
import math
import os
import re
import tempfile
from collections import Counter
from contextlib import contextmanager
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lrcn.data.coco import ImageCaptions, read_coco, read_karpathy
from lrcn.data.flickr30k import read_token_file
from lrcn.data.folders import VIDEO_EXTENSIONS, read_folder, split_items
from lrcn.data.tacos import SPLITS, read_tacos
from lrcn.data.ucf101 import VideoItem, read_classes, read_split
from lrcn.errors import LrcnError

DEFAULT_EXAMPLES = 60
SLOW_EXAMPLES = 1000

# ---------------------------------------------------------------------------------------------------
# Building blocks: awkward tokens, mutated line files, mutated JSON, random content.

AWKWARD = [
    "", " ", "\t", "-1", "0", "00", "+1", "1.5", "1e9", "1_000", "9" * 30, "9" * 5000, "-" + "9" * 5000,
    "²", "١٢", "٣", "Ⅻ", "𝟗", "\x00", "\ufeff", "\u2028", "\u2029", "\x85", "\x0b", "\x0c", "\x1c", "\r",
    "é", "日本語", "🎬", "NaN", "null", "true", "#", "#0", "/", "../..", "a/b/c", "\\", "'", '"', ",", ",,",
    "\ufffd", "x" * 100_000,
]
# Numbers a reader may trust too far: unicode digits that str.isdigit() accepts but int() refuses (or reads),
# numbers int() refuses to convert (over 4300 digits), signs, underscores, spaces.
AWKWARD_NUMBERS = ["-1", "0", "00", "+1", "1_0", " 1", "1 ", "1.0", "²", "١٢", "𝟗", "⁹", "9" * 30, "9" * 4301,
                   "0" * 4400 + "1", "-" + "9" * 5000, "1e5", "0x1f", "Infinity"]
token = st.one_of(st.sampled_from(AWKWARD), st.sampled_from(AWKWARD_NUMBERS), st.text(max_size=12), st.integers().map(str))
NEWLINES = ["\n", "\r\n", "\r", "\u2028", "\x85"]


@st.composite
def mutated_bytes(draw, text: str) -> bytes:
    """``text`` encoded (UTF-8 in most cases), in some cases damaged at the text or byte level.

    One damage at a time in most cases: with the rest of the file valid, the reader gets past the first
    line and meets the damage; piling up damages mostly tests the first check of each reader.
    """
    damage = draw(st.sampled_from(["none"] * 5 + ["empty", "bom", "char", "encoding", "bytes", "all"]))
    if damage == "empty":
        return b""
    if damage in ("bom", "all"):
        text = "\ufeff" + text
    for _ in range(draw(st.integers(1, 2)) if damage in ("char", "all") else 0):
        at = draw(st.integers(0, len(text)))
        text = text[:at] + draw(st.sampled_from(["\x00", "\u2028", "\r", "\n", "\ufeff", "\udcff"])) + text[at:]
    encoding = draw(st.sampled_from(["utf-8-sig", "utf-16", "latin-1", "cp1252"])) if damage in ("encoding", "all") else "utf-8"
    data = text.encode(encoding, errors="replace" if encoding not in ("utf-8", "utf-8-sig", "utf-16") else "surrogatepass")
    for _ in range(draw(st.integers(1, 2)) if damage in ("bytes", "all") else 0):
        op = draw(st.sampled_from(["flip", "truncate", "insert", "none"]))
        at = draw(st.integers(0, len(data)))
        if op == "flip" and at < len(data):
            data = data[:at] + bytes([data[at] ^ draw(st.integers(1, 255))]) + data[at + 1:]
        elif op == "truncate":
            data = data[:at]
        elif op == "insert":
            data = data[:at] + draw(st.binary(min_size=1, max_size=8)) + data[at:]
    return data


@st.composite
def mutated_lines(draw, lines: list[list[str]], sep: str) -> bytes:
    """A line-based file: lines of ``sep``-separated fields, mutated, joined with random line ends."""
    lines = [list(line) for line in lines]
    for _ in range(draw(st.sampled_from([0, 1, 1, 1, 1, 2, 4]))):
        op = draw(st.sampled_from(["drop", "dup", "swap", "insert", "field", "drop_field", "add_field", "long",
                                   "number", "number"]))
        i = draw(st.integers(0, max(len(lines) - 1, 0)))
        if not lines and op != "insert":
            continue
        if op == "drop":
            del lines[i]
        elif op == "dup":
            lines.insert(draw(st.integers(0, len(lines))), list(lines[i]))
        elif op == "swap":
            j = draw(st.integers(0, len(lines) - 1))
            lines[i], lines[j] = lines[j], lines[i]
        elif op == "insert":
            lines.insert(draw(st.integers(0, len(lines))), draw(st.lists(token, max_size=8)))
        elif op == "long":  # a line of 200k characters
            lines[i] = ["x" * 200_000 + (lines[i][0] if lines[i] else "")] + lines[i][1:]
        elif op == "number":  # a run of digits (an index, a label, a frame, a group number) made awkward
            spots = [(j, m) for j, f in enumerate(lines[i]) for m in re.finditer(r"[0-9]+", f)]
            if spots:
                j, m = draw(st.sampled_from(spots))
                f = lines[i][j]
                lines[i][j] = f[:m.start()] + draw(st.sampled_from(AWKWARD_NUMBERS)) + f[m.end():]
        elif not lines[i] and op != "add_field":
            continue
        else:
            j = draw(st.integers(0, max(len(lines[i]) - 1, 0)))
            if op == "field" and lines[i]:
                lines[i][j] = draw(token)
            elif op == "drop_field" and lines[i]:
                del lines[i][j]
            else:
                lines[i].insert(draw(st.integers(0, len(lines[i]))), draw(token))
    ends = draw(st.sampled_from([["\n"], ["\n"], ["\r\n"], ["\r\n"], ["\r"], NEWLINES]))  # mixed in the last
    text = "".join(sep.join(line) + draw(st.sampled_from(ends)) for line in lines)
    if text and draw(st.booleans()):
        text = text[:-1]  # no final line end
    return draw(mutated_bytes(text))


def json_values(keys: list[str]) -> st.SearchStrategy:
    """Any JSON value, biased to the reader's own keys and to wrong types at every level."""
    leaf = st.one_of(st.none(), st.booleans(), st.integers(-(10**30), 10**30), st.floats(), st.text(max_size=10),
                     st.sampled_from(AWKWARD[:40]))
    key = st.one_of(st.sampled_from(keys), st.text(max_size=6))
    return st.recursive(leaf, lambda c: st.lists(c, max_size=4) | st.dictionaries(key, c, max_size=5), max_leaves=12)


def _mutate_tree(draw, node, values):
    """Walk to a random node and damage it: replace, drop, duplicate, reorder, add, wrap."""
    if isinstance(node, (dict, list)) and node and draw(st.integers(0, 3)):
        k = draw(st.sampled_from(list(node) if isinstance(node, dict) else range(len(node))))
        node[k] = _mutate_tree(draw, node[k], values)
        return node
    op = draw(st.sampled_from(["replace", "replace", "drop", "dup", "reverse", "add", "wrap"]))
    if op == "replace":
        return draw(values)
    if op == "wrap":
        return [node] if draw(st.booleans()) else {"images": node}
    if isinstance(node, dict) and node:
        k = draw(st.sampled_from(list(node)))
        if op == "drop":
            del node[k]
        elif op == "reverse":
            node = dict(reversed(node.items()))
        else:
            node[draw(st.text(max_size=6))] = draw(values) if op == "add" else copy.deepcopy(node[k])
    elif isinstance(node, list) and node:
        i = draw(st.integers(0, len(node) - 1))
        if op == "drop":
            del node[i]
        elif op == "reverse":
            node.reverse()
        elif op == "dup":
            node.insert(draw(st.integers(0, len(node))), copy.deepcopy(node[i]))  # duplicate ids
        else:
            node.insert(draw(st.integers(0, len(node))), draw(values))
    return node


@st.composite
def mutated_json(draw, base: dict, keys: list[str]) -> bytes:
    values = json_values(keys)
    obj = copy.deepcopy(base)
    for _ in range(draw(st.sampled_from([0, 1, 1, 1, 2, 3]))):
        obj = _mutate_tree(draw, obj, values)
    text = json.dumps(obj, ensure_ascii=draw(st.booleans()), indent=draw(st.sampled_from([None, 1])))
    op = draw(st.sampled_from(["none", "none", "none", "crlf", "huge", "deep", "dupkey"]))
    if op == "crlf":
        text = text.replace("\n", "\r\n")
    elif op == "huge":  # a number too long for int(): Python refuses above 4300 digits
        spots = list(re.finditer(r"(?<=[:\[,])(\s*)(-?[0-9])", text))  # numbers, not digits inside strings
        if spots:
            m = draw(st.sampled_from(spots))
            text = text[:m.end(1)] + "9" * draw(st.sampled_from([20, 4301, 10_000])) + text[m.end(1):]
    elif op == "deep":
        n = draw(st.sampled_from([100, 5_000, 100_000]))
        text = "[" * n + text + "]" * n if draw(st.booleans()) else text.replace("[", "[" * n, 1)
    elif op == "dupkey" and "{" in text:  # a key written twice: the last one wins in json.loads
        text = text.replace("{", '{"' + draw(st.sampled_from(keys)) + '": ' + json.dumps(draw(values)) + ", ", 1)
    return draw(mutated_bytes(text))


random_content = st.one_of(st.binary(max_size=300), st.text(max_size=300).map(lambda s: s.encode("utf-8", "surrogatepass")))


def random_json(keys: list[str]) -> st.SearchStrategy:
    values = json_values(keys)
    return st.one_of(random_content, st.dictionaries(st.sampled_from(keys), values, max_size=4).map(lambda d: json.dumps(d).encode()),
                     values.map(lambda v: json.dumps(v).encode()))


# ---------------------------------------------------------------------------------------------------
# The property and its runner.

_BASE: list[Path] = []


@contextmanager
def scratch():
    """A fresh folder per example (hypothesis and function-scoped tmp_path do not mix)."""
    with tempfile.TemporaryDirectory(dir=_BASE[0] if _BASE else None) as d:
        yield Path(d)


@pytest.fixture(scope="module", autouse=True)
def _scratch_base(tmp_path_factory):
    _BASE[:] = [tmp_path_factory.mktemp("fuzz")]
    yield
    _BASE.clear()


MAX_MESSAGE = 400  # characters besides the file's path: an error quotes the bad part, not a 200k-character line


def outcome(call, *names: Path | str):
    """``call()``'s answer, or "error" after checking its LrcnError is one short line naming one of ``names``."""
    try:
        return call()
    except LrcnError as e:
        msg = str(e)
        assert msg.splitlines() == [msg] and "\n" not in msg and "\r" not in msg, f"not one line: {msg[:500]!r}"
        named = [str(n) for n in names if str(n) in msg]
        assert named, f"names none of {[str(n) for n in names]}: {msg[:500]!r}"
        assert len(msg.replace(max(named, key=len), "")) <= MAX_MESSAGE, f"{len(msg)} characters: {msg[:500]!r}..."
        return "error"


def write(path: Path, data: bytes | None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if data is not None:
        path.write_bytes(data)


def _is_str(s) -> bool:
    return isinstance(s, str)


# --- UCF101 ------------------------------------------------------------------------------------------

CLASS_IND = [["1", "ApplyEyeMakeup"], ["2", "ApplyLipstick"], ["3", "Archery"]]
TRAIN = [["ApplyEyeMakeup/v_ApplyEyeMakeup_g08_c01.avi", "1"], ["ApplyLipstick/v_ApplyLipstick_g09_c02.avi", "2"],
         ["Archery/v_Archery_g10_c03.avi", "3"]]
TEST = [["ApplyEyeMakeup/v_ApplyEyeMakeup_g01_c01.avi"], ["Archery/v_Archery_g07_c05.avi"]]
UCF_BASE = {"classInd.txt": CLASS_IND, "trainlist01.txt": TRAIN, "testlist01.txt": TEST}


def _ucf_files(changes: st.SearchStrategy) -> st.SearchStrategy:
    """Every list file valid except the changed ones (a file may also be absent: None)."""
    valid = {name: ("\r\n".join(" ".join(f) for f in lines) + "\r\n").encode() for name, lines in UCF_BASE.items()}
    return st.tuples(changes.map(lambda ch: {**valid, **ch}), st.sampled_from(["train", "test"]), st.booleans())


def _some(options: dict) -> st.SearchStrategy:
    return st.fixed_dictionaries({}, optional=options).filter(bool)


ucf_mutated = _ucf_files(_some({name: st.one_of(mutated_lines(lines, " "), mutated_lines(lines, "\t"), st.none())
                                for name, lines in UCF_BASE.items()}))
ucf_random = _ucf_files(_some({name: random_content for name in UCF_BASE}))


def ucf_property(case) -> str:
    files, subset, nested = case
    with scratch() as root:
        lists = root / "ucfTrainTestlist" if nested else root
        for name, data in files.items():
            write(lists / name, data)
        names = [lists / n for n in files] + [root / n for n in files]  # a missing list is looked for in both places
        classes = outcome(lambda: read_classes(root), *names)
        if classes != "error":
            assert classes and all(_is_str(c) and c for c in classes) and len(set(classes)) == len(classes)
        items = outcome(lambda: read_split(root, 1, subset), *names)
        if items == "error":
            return "error"
        assert items and all(isinstance(it, VideoItem) and 0 <= it.label < len(classes) for it in items)
        assert all(it.group is None or isinstance(it.group, int) for it in items)
        assert all(it.path.is_relative_to(root) for it in items)
        return "answer"


# --- Folder per class ---------------------------------------------------------------------------------

NAMES = ["walk", "run", "Run", ".git", ".h.mp4", "a.avi", "B.MP4", "x.mkv", "c.webm", "z.mov", "notes.txt", "日本.avi",
         "é.mp4", " .avi", ".avi", "a.avi.txt", "x" * 200 + ".mkv", "a\nb.avi", "a\\b.avi", "\u2028.mp4"]
# Names as the file system gives them back: any text but '/' and NUL, or any bytes (decoded with surrogateescape);
# never a lone surrogate outside that escape's range, which cannot name a file.
entry_name = st.one_of(st.sampled_from(NAMES),
                       st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="/\x00"), min_size=1, max_size=10)
                       .filter(lambda s: s not in (".", "..")),
                       st.binary(min_size=1, max_size=10).filter(lambda b: b"/" not in b and b"\0" not in b and b not in (b".", b".."))
                       .map(os.fsdecode))
entry = st.tuples(st.lists(entry_name, min_size=1, max_size=3),
                  st.sampled_from(["file", "file", "file", "dir", "loop", "dangling", "updir", "fifo", "empty"]))
folder_case = st.tuples(st.lists(entry, max_size=12), st.sampled_from(["dir", "dir", "dir", "dir", "file", "missing"]))


def folder_property(case) -> str:
    entries, root_kind = case
    with scratch() as base:
        root = base / "data"
        if root_kind == "file":
            root.write_bytes(b"x")
        elif root_kind == "dir":
            root.mkdir()
            for parts, kind in entries:
                path = root.joinpath(*parts)
                if os.path.lexists(path):  # never write into an earlier entry (a FIFO would block the writer)
                    continue
                try:
                    path.parent.mkdir(parents=True, exist_ok=True)
                    if kind == "dir":
                        path.mkdir(exist_ok=True)
                    elif kind == "loop":
                        path.symlink_to(path.name)
                    elif kind == "dangling":
                        path.symlink_to(base / "nowhere")
                    elif kind == "updir":
                        path.symlink_to(root, target_is_directory=True)
                    elif kind == "fifo":
                        os.mkfifo(path)
                    else:
                        path.write_bytes(b"" if kind == "empty" else b"x")
                except OSError:  # a name too long, or a path clashing with an earlier entry: not this test's subject
                    pass
        result = outcome(lambda: read_folder(root), root)
        if result == "error":
            return "error"
        classes, items = result
        assert classes == sorted(classes) and len(set(classes)) == len(classes)
        assert items and sorted({it.label for it in items}) == list(range(len(classes)))
        for it in items:
            assert it.path.is_relative_to(root / classes[it.label]) and it.path.suffix.lower() in VIDEO_EXTENSIONS
        return "answer"


split_case = st.tuples(st.lists(st.integers(0, 6), max_size=40),
                       st.one_of(st.floats(), st.sampled_from([0.0, 0.25, 0.5, 0.999, 1.0, -0.0])),
                       st.one_of(st.integers(), st.integers(0, 3)))


def split_property(case) -> str:
    labels, fraction, seed = case
    items = [VideoItem(Path(f"{label}/{i}.avi"), label) for i, label in enumerate(labels)]
    result = outcome(lambda: split_items(items, fraction, seed), "test fraction", "seed")
    if result == "error":
        return "error"
    train, test = result
    assert sorted(train + test, key=items.index) == items and not set(map(id, train)) & set(map(id, test))
    assert train == [it for it in items if it in train] and test == [it for it in items if it in test]
    for label in set(labels):
        n = labels.count(label)
        in_test = sum(it.label == label for it in test)
        assert n - in_test >= 1  # a training video kept per class
        if fraction > 0 and n > 1:
            assert in_test >= 1
    assert split_items(items, fraction, seed) == (train, test)
    return "answer"


# --- COCO captions and Karpathy splits ----------------------------------------------------------------

COCO_BASE = {
    "info": {"description": "COCO 2014", "year": 2014},
    "images": [{"license": 3, "file_name": "COCO_val2014_000000391895.jpg", "height": 360, "width": 640, "id": 391895},
               {"license": 4, "file_name": "COCO_val2014_000000522418.jpg", "height": 480, "width": 640, "id": 522418},
               {"file_name": "cat.png", "id": "cat\u2028"}],  # a user's own string id, with a line separator
    "annotations": [{"image_id": 391895, "id": 770337, "caption": "A man with a red helmet on a small moped. "},
                    {"image_id": 522418, "id": 771687, "caption": "A woman cutting a cake."},
                    {"image_id": "cat\u2028", "id": 1, "caption": "A cat."},
                    {"image_id": 391895, "id": 771688, "caption": "Man riding a motor bike."}],
}
COCO_KEYS = ["images", "annotations", "id", "file_name", "image_id", "caption", "info", "licenses"]
KARPATHY_BASE = {"dataset": "coco", "images": [
    {"filepath": "val2014", "filename": "COCO_val2014_000000391895.jpg", "imgid": 0, "split": "test", "cocoid": 391895,
     "sentids": [770337, 771687],
     "sentences": [{"tokens": ["a", "man", "with", "a", "red", "helmet"], "raw": "A man with a red helmet.", "imgid": 0, "sentid": 770337},
                   {"tokens": ["man", "riding", "a", "bike"], "imgid": 0, "sentid": 771687}]},
    {"filename": "1000092795.jpg", "imgid": 1, "split": "restval", "sentids": [1],
     "sentences": [{"tokens": ["two", "young", "guys"], "raw": "Two young guys.", "imgid": 1, "sentid": 1}]},
    {"filename": "10002456.jpg", "imgid": 2, "split": "val", "sentids": [], "sentences": []},
]}
KARPATHY_KEYS = ["images", "filepath", "filename", "split", "sentences", "raw", "tokens", "imgid", "cocoid", "sentids", "sentid"]


def _check_captions(items) -> None:
    assert isinstance(items, list)
    for it in items:
        assert isinstance(it, ImageCaptions) and isinstance(it.path, Path)  # an absolute file name may leave the image folder
        assert it.captions and all(_is_str(c) for c in it.captions) and _is_str(it.split)
        assert isinstance(it.image_id, (int, str)), f"image_id {it.image_id!r}"


def coco_property(data: bytes) -> str:
    with scratch() as root:
        write(root / "captions.json", data)
        items = outcome(lambda: read_coco(root / "captions.json", root / "images", "train"), root / "captions.json")
        if items == "error":
            return "error"
        _check_captions(items)
        ids = [it.image_id for it in items]
        assert len(set(ids)) == len(ids)
        return "answer"


def karpathy_property(data: bytes) -> str:
    with scratch() as root:
        write(root / "dataset_coco.json", data)
        items = outcome(lambda: read_karpathy(root / "dataset_coco.json", root / "images"), root / "dataset_coco.json")
        if items == "error":
            return "error"
        _check_captions(items)
        return "answer"


# --- Flickr30k token file -----------------------------------------------------------------------------

TOKENS = [["1000092795.jpg#0", "Two young guys with shaggy hair look at their hands ."],
          ["1000092795.jpg#1", "Two young , White males are outside near many bushes ."],
          ["10002456.jpg#0", "Several men in hard hats are operating a giant pulley system ."],
          [], ["1000092795.jpg#2", "Two men in green shirts are standing in a yard ."]]


def flickr_property(data: bytes) -> str:
    with scratch() as root:
        write(root / "results_20130124.token", data)
        items = outcome(lambda: read_token_file(root / "results_20130124.token", root / "images"), root / "results_20130124.token")
        if items == "error":
            return "error"
        _check_captions(items)
        assert all(c.strip() == c and c for it in items for c in it.captions)
        return "answer"


# --- TACoS --------------------------------------------------------------------------------------------

ALIGNED = [["252", "452", "take out", "hand", "cutting board", "counter,drawer", "The person takes out a cutting board.",
            "He gets a cutting board from the drawer.", ""],
           ["453", "600", "", "", "", "", "The person washes the carrot."],
           ["601", "601", "cut", "knife", "carrot", "cutting board", "She cuts the carrot."]]
VIDEO_IDS = ["s13-d21", "s22-d25", "s27-d34"]
SPLIT_LINES = {"train": [["s13-d21"]], "val": [["s22-d25"]], "test": [["s27-d34"]]}
TACOS_TARGETS = [f"alignments-text/{v}.aligned.tsv" for v in VIDEO_IDS] + [f"splits/{s}.txt" for s in SPLITS]


def _tacos_content(target: str, random: bool) -> st.SearchStrategy:
    if random:
        return random_content
    if target.startswith("splits/"):
        return mutated_lines(SPLIT_LINES[Path(target).stem] + [["s13-d21"]], "\t")  # s13-d21 in two splits: the last wins
    return mutated_lines(ALIGNED, "\t")


def _tacos_case(random: bool) -> st.SearchStrategy:
    change = st.sampled_from(TACOS_TARGETS).flatmap(lambda t: st.tuples(st.just(t), st.one_of(_tacos_content(t, random), st.just(None))))
    extra = st.sampled_from(["none", "none", "no-splits", "missing-video", "mp4-video", "extra-aligned", "weird-aligned"])
    return st.tuples(st.lists(change, min_size=1, max_size=3), extra)


def tacos_property(case) -> str:
    changes, extra = case
    with scratch() as root:
        text = ("\n".join("\t".join(r) for r in ALIGNED) + "\n").encode()
        files = {f"alignments-text/{v}.aligned.tsv": text for v in VIDEO_IDS}
        files |= {f"splits/{s}.txt": f"{v}\n".encode() for s, v in zip(SPLITS, ("s13-d21", "s22-d25", "s27-d34"))}
        files |= dict(changes)
        if extra == "no-splits":
            files = {k: v for k, v in files.items() if not k.startswith("splits/")}
        for path, data in files.items():
            write(root / path, data)
        for v in VIDEO_IDS:
            write(root / "videos" / f"{v}{'.mp4' if extra == 'mp4-video' else '.avi'}", b"")
        if extra == "missing-video":
            (root / "videos" / "s22-d25.avi").unlink()
        if extra == "extra-aligned":
            write(root / "alignments-text" / "s99-d99.aligned.tsv", text)
            write(root / "videos" / "s99-d99.webm", b"")
        if extra == "weird-aligned":
            write(root / "alignments-text" / "日本\u2028.aligned.tsv", text)
        names = [root / p for p, _ in changes] + [root / "splits", root / "videos", root / "alignments-text"]
        items = outcome(lambda: read_tacos(root), *names)
        if items == "error":
            return "error"
        for it in items:
            assert isinstance(it.start, int) and isinstance(it.end, int) and 0 <= it.start <= it.end
            assert it.sentences and all(_is_str(s) and s for s in it.sentences) and it.split in SPLITS
            assert it.sr is None or (len(it.sr) == 5 and all(_is_str(v) and v for v in it.sr.values()))
            assert it.video.is_file()
        return "answer"


# ---------------------------------------------------------------------------------------------------
# The cases: (property, mutated strategy, random strategy) per reader.

READERS = {
    "ucf101": (ucf_property, ucf_mutated, ucf_random),
    "folders": (folder_property, folder_case, folder_case),
    "split_items": (split_property, split_case, split_case),
    "coco": (coco_property, mutated_json(COCO_BASE, COCO_KEYS), random_json(COCO_KEYS)),
    "karpathy": (karpathy_property, mutated_json(KARPATHY_BASE, KARPATHY_KEYS), random_json(KARPATHY_KEYS)),
    "flickr30k": (flickr_property, mutated_lines(TOKENS, "\t"), random_content),
    "tacos": (tacos_property, _tacos_case(random=False), _tacos_case(random=True)),
}


def run(prop, strategy, examples: int, collect: bool, derandomize: bool | None = None) -> tuple[Counter, dict[str, tuple[int, object]]]:
    """Run ``prop`` on ``examples`` cases. ``collect``: record unclean cases (by exception type and place) instead of failing.

    Derandomized (the same cases every run) unless collecting, i.e. in the default suite.
    """
    tally: Counter = Counter()
    unclean: dict[str, tuple[int, object]] = {}

    @settings(max_examples=examples, deadline=None, database=None, derandomize=not collect if derandomize is None else derandomize,
              suppress_health_check=list(HealthCheck))
    @given(strategy)
    def check(case):
        tally["tried"] += 1
        if not collect:
            tally[prop(case)] += 1
            return
        try:
            tally[prop(case)] += 1
        except Exception as e:  # noqa: BLE001 - the whole point: tally any exception the reader lets out
            tb = e.__traceback__
            while tb.tb_next:
                tb = tb.tb_next
            where = f"{type(e).__name__} at {Path(tb.tb_frame.f_code.co_filename).name}:{tb.tb_lineno}"
            count, example = unclean.get(where, (0, None))
            unclean[where] = (count + 1, example if example is not None else (case, str(e)[:300]))
            tally["unclean"] += 1

    check()
    return tally, unclean


@pytest.mark.parametrize("kind", ["mutated", "random"])
@pytest.mark.parametrize("reader", list(READERS))
def test_reader_answers_or_raises_one_line_lrcnerror(reader, kind):
    prop, mutated, random = READERS[reader]
    tally, _ = run(prop, mutated if kind == "mutated" else random, DEFAULT_EXAMPLES // 2, collect=False)
    assert tally["tried"] > 0


@pytest.mark.slow
@pytest.mark.parametrize("reader", list(READERS))
def test_reader_fuzz_slow(reader):
    prop, mutated, random = READERS[reader]
    totals: Counter = Counter()
    unclean: dict = {}
    for strategy in (mutated, random):
        tally, found = run(prop, strategy, SLOW_EXAMPLES // 2, collect=True)
        totals += tally
        for where, (count, example) in found.items():
            unclean[where] = (unclean.get(where, (0, example))[0] + count, unclean.get(where, (0, example))[1])
    clean = totals["tried"] - totals["unclean"]
    print(f"\n[fuzz] {reader}: {totals['tried']} cases tried, {clean} clean "
          f"({totals['answer']} answered, {totals['error']} LrcnError), {totals['unclean']} unclean")
    for where, (count, (case, message)) in unclean.items():
        print(f"[fuzz]   {count}x {where}: {message!r} e.g. {str(case)[:300]}")
    assert not unclean, f"{reader}: {sum(c for c, _ in unclean.values())} unclean case(s): {', '.join(unclean)}"


# ---------------------------------------------------------------------------------------------------
# The run-config reader (``config.yaml``, ``--config FILE``): load_yaml + from_dict.


@dataclasses.dataclass
class _Inner:
    lr: float = 0.1
    steps: int = 3


@dataclasses.dataclass
class _Cfg:
    name: str = "run"
    root: Path | None = None
    size: tuple[int, int] = (1, 2)
    inner: _Inner = dataclasses.field(default_factory=_Inner)


YAML_BASE = "name: run\nroot: /data\nsize: [224, 224]\ninner:\n  lr: 0.001\n  steps: 10\n"
CFG_KEYS = ["name", "root", "size", "inner", "lr", "steps"]


def config_property(case) -> str:
    from lrcn.config import from_dict, load_yaml

    data, as_dict = case
    with scratch() as root:
        path = root / "run.yaml"
        write(path, data)
        loaded = outcome(lambda: load_yaml(path), path)
        if loaded == "error":
            return "error"
        assert isinstance(loaded, dict)
    cfg = outcome(lambda: from_dict(_Cfg, as_dict if as_dict is not None else loaded, "run.yaml"), "run.yaml")
    if cfg == "error":
        return "error"
    assert isinstance(cfg.name, str) and isinstance(cfg.root, (Path, type(None))) and isinstance(cfg.inner, _Inner)
    assert isinstance(cfg.size, tuple) and all(isinstance(v, int) for v in cfg.size)
    assert isinstance(cfg.inner.lr, (int, float)) and not isinstance(cfg.inner.lr, bool) and math.isfinite(cfg.inner.lr)
    assert isinstance(cfg.inner.steps, int) and not isinstance(cfg.inner.steps, bool)
    return "answer"


config_case = st.tuples(st.one_of(mutated_lines([line.split(" ") for line in YAML_BASE.splitlines()], " "), random_content),
                        st.one_of(st.none(), st.dictionaries(st.sampled_from(CFG_KEYS) | st.integers(), json_values(CFG_KEYS), max_size=4)))


@pytest.mark.parametrize("examples", [DEFAULT_EXAMPLES, pytest.param(SLOW_EXAMPLES, marks=pytest.mark.slow)])
def test_run_config_reader_answers_or_raises_one_line_lrcnerror(examples):
    tally, unclean = run(config_property, config_case, examples, collect=True, derandomize=examples == DEFAULT_EXAMPLES)
    print(f"\n[fuzz] config.yaml: {tally['tried']} cases tried, {tally['tried'] - tally['unclean']} clean")
    assert not unclean, "; ".join(f"{count}/{tally['tried']} {where}: {message[:120]!r}" for where, (count, (_, message)) in unclean.items())


# ---------------------------------------------------------------------------------------------------
# Metamorphic: the valid files above, saved with a byte-order mark and/or Windows line ends (as Notepad
# does), give the same answer as without.


def _answers(reader: str, encode) -> object:
    """The answer of ``reader`` on its valid base files, each file's text passed through ``encode``."""
    with scratch() as root:
        if reader == "ucf101":
            for name, lines in UCF_BASE.items():
                write(root / name, encode("\n".join(" ".join(f) for f in lines) + "\n"))
            return read_classes(root), [(it.path.relative_to(root), it.label, it.group) for s in ("train", "test")
                                        for it in read_split(root, 1, s)]
        if reader in ("coco", "karpathy"):
            write(root / "index.json", encode(json.dumps(COCO_BASE if reader == "coco" else KARPATHY_BASE, indent=1)))
            items = read_coco(root / "index.json", root, "train") if reader == "coco" else read_karpathy(root / "index.json", root)
        elif reader == "flickr30k":
            write(root / "f.token", encode("\n".join("\t".join(f) for f in TOKENS) + "\n"))
            items = read_token_file(root / "f.token", root)
        else:
            for v in VIDEO_IDS:
                write(root / "alignments-text" / f"{v}.aligned.tsv", encode("\n".join("\t".join(r) for r in ALIGNED) + "\n"))
                write(root / "videos" / f"{v}.avi", b"")
            for s, v in zip(SPLITS, VIDEO_IDS):
                write(root / "splits" / f"{s}.txt", encode(v + "\n"))
            return [(it.video.relative_to(root), it.start, it.end, it.sentences, it.sr, it.split) for it in read_tacos(root)]
        return [(it.path.relative_to(root), it.captions, it.split, it.image_id) for it in items]


@pytest.mark.parametrize("variant", ["bom", "crlf", "bom+crlf"])
@pytest.mark.parametrize("reader", ["ucf101", "coco", "karpathy", "flickr30k", "tacos"])
def test_a_bom_or_windows_line_ends_do_not_change_the_answer(reader, variant):
    plain = _answers(reader, lambda text: text.encode())
    bom = "\ufeff" if "bom" in variant else ""
    assert _answers(reader, lambda text: (bom + text.replace("\n", "\r\n" if "crlf" in variant else "\n")).encode()) == plain
