"""What the runners share: open an ONNX export of lrcn (``lrcn export RUN OUT --format onnx``), run its graphs, and
turn a video or an image into the uint8 crops ``cnn.onnx`` reads, exactly as lrcn does.

Needs numpy, PyAV and onnxruntime (openvino instead, for ``--provider openvino``); Pillow for images. Never torch or
lrcn: this file is the reference to port to C++, Java or JavaScript. Everything it knows comes from ``config.json``'s
``"onnx"`` section: the graphs and their sha256, the input size, the resize and crop rule, the state.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

import numpy as np

PROVIDERS = ("onnxruntime", "openvino")
BATCH = 32  # frames per cnn.onnx call


class Failure(Exception):
    """A problem with the user's input: one line on stderr ("error: ..."), exit 1, never a traceback."""


class Graph:
    """One ONNX graph under ONNX Runtime (CPU provider) or OpenVINO (CPU, fp32): ``graph(feeds)`` -> its outputs, in
    the graph's order; ``graph.inputs``: its input names."""

    def __init__(self, path: Path, provider: str):
        if provider == "openvino":
            import openvino as ov

            compiled = ov.Core().compile_model(str(path), "CPU", {"INFERENCE_PRECISION_HINT": "f32"})
            self.inputs = [i.any_name for i in compiled.inputs]
            self._run = lambda feeds: list(compiled(feeds).to_tuple())
        else:
            import onnxruntime as ort

            session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
            self.inputs = [i.name for i in session.get_inputs()]
            self._run = lambda feeds: session.run(None, feeds)

    def __call__(self, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
        return self._run(feeds)


class Export:
    """An export folder: ``config`` (its "onnx" section), ``graphs`` (name -> :class:`Graph`: ``cnn``, ``step`` and
    describe's ``encode``), after checking that it is an ONNX export of ``task`` and that every graph's sha256 is the
    one config.json names."""

    def __init__(self, folder: str, task: str, provider: str = "onnxruntime"):
        folder = Path(folder)
        path = folder / "config.json"
        if not path.is_file():
            raise Failure(f"{folder}: not an lrcn export (no config.json)")
        try:
            config = json.loads(path.read_text())
        except (OSError, ValueError) as e:
            raise Failure(f"{path}: not readable JSON ({e})") from None
        if not isinstance(config, dict) or config.get("format") != "lrcn" or "onnx" not in config:
            raise Failure(f"{folder}: not an ONNX export of lrcn (config.json has no \"onnx\" section; write one with "
                          "lrcn export RUN OUT --format onnx)")
        if config.get("task") != task:
            raise Failure(f"{folder}: a {config.get('task')} model, not a{'n' if task[0] in 'aeiou' else ''} {task} "
                          "model")
        self.config = config["onnx"]
        self.graphs = {}
        for key, graph in self.config["graphs"].items():
            file = folder / graph["file"]
            if not file.is_file():
                raise Failure(f"{file}: missing (config.json names it)")
            digest = hashlib.sha256(file.read_bytes()).hexdigest()
            if digest != graph["sha256"]:
                raise Failure(f"{file}: sha256 {digest[:12]}... is not config.json's {graph['sha256'][:12]}...: the "
                              "graph was changed or damaged")
            self.graphs[key] = Graph(file, provider)
        self.cnn, self.step = self.graphs["cnn"], self.graphs["step"]
        self.state_names = [s["name"] for s in self.config["state"]]  # h1, c1, ...: each (N, H)

    def zero_state(self, n: int) -> dict[str, np.ndarray]:
        """The state at the start of a clip, a stream or a sentence: zeros, (n, H) each."""
        return {s["name"]: np.zeros((n, s["shape"][1]), np.float32) for s in self.config["state"]}

    def features(self, crops: np.ndarray) -> np.ndarray:
        """(T, S, S, 3) uint8 crops -> cnn.onnx's output (T, D), in batches."""
        return np.concatenate([self.cnn({"frames": crops[i : i + BATCH]})[0] for i in range(0, len(crops), BATCH)])


def centre_crop(frames: np.ndarray, size: int) -> np.ndarray:
    """(..., S', S', 3) -> (..., size, size, 3): the centre square, offset (S' - size) // 2 on both axes."""
    m = (frames.shape[-2] - size) // 2
    return np.ascontiguousarray(frames[..., m : m + size, m : m + size, :])


def check_file(path: str) -> None:
    p = Path(path)
    if p.is_dir():
        raise Failure(f"{path}: is a directory, not a file")
    if not p.is_file():
        raise Failure(f"{path}: no such file")
    if p.stat().st_size == 0:
        raise Failure(f"{path}: empty file (0 bytes)")


def video_frames(source: str, size: int):
    """The frames of a video, one by one, each (size, size, 3) uint8 RGB: decoded and scaled in one swscale call
    (bilinear, aspect ignored), as lrcn decodes. A file damaged midway gives the frames before the damage."""
    import av

    check_file(source)
    try:
        container = av.open(source)
    except (av.error.FFmpegError, ValueError, OSError) as e:
        raise Failure(f"{source}: not a decodable video ({type(e).__name__}: {str(e).splitlines()[0][:120]})") from None
    with container:
        if not container.streams.video:
            raise Failure(f"{source}: not a video (no video stream)")
        stream, count = container.streams.video[0], 0
        stream.thread_type = "AUTO"
        try:
            for frame in container.decode(stream):
                yield frame.to_ndarray(format="rgb24", width=size, height=size)
                count += 1
        except (av.error.FFmpegError, ValueError) as e:
            if not count:
                raise Failure(f"{source}: not a decodable video ({type(e).__name__})") from None
    if not count:
        raise Failure(f"{source}: not a video (no decodable frame)")


def load_image(path: str, size: int) -> np.ndarray:
    """An image file -> (size, size, 3) uint8 RGB, as lrcn reads it: Pillow, a large JPEG decoded at a reduced
    scale, EXIF orientation, 16-bit grey scaled to 8 bits, transparency on white, then a bilinear resize."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    check_file(path)
    try:
        with Image.open(path) as img:
            img.draft("RGB", (size, size))
            img.load()
            img = ImageOps.exif_transpose(img)
    except UnidentifiedImageError:
        raise Failure(f"{path}: not an image (no image format recognised)") from None
    except (OSError, SyntaxError, ValueError) as e:
        raise Failure(f"{path}: not a decodable image ({type(e).__name__})") from None
    if img.mode in ("I;16", "I;16L", "I;16B", "I;16N", "I"):
        img = Image.fromarray(np.clip(np.rint(np.asarray(img, np.float32) / 257.0), 0, 255).astype(np.uint8), "L")
    if img.mode == "P" and "transparency" in img.info:
        img = img.convert("RGBA")
    if img.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        img = Image.alpha_composite(Image.new("RGBA", img.size, (255, 255, 255, 255)), img.convert("RGBA"))
    img = img.convert("RGB")
    if img.size != (size, size):
        img = img.resize((size, size), Image.Resampling.BILINEAR)
    return np.asarray(img)


def top_classes(probs: np.ndarray, classes: list[str], k: int) -> dict:
    """(C,) probabilities -> {"label", "score", "top": [{"label", "score"}]}, the k best first."""
    top = np.argsort(-probs, kind="stable")[:k]
    return {"label": classes[top[0]], "score": float(probs[top[0]]),
            "top": [{"label": classes[i], "score": float(probs[i])} for i in top]}


def say_error(message: str) -> None:
    print(f"error: {message}", file=sys.stderr, flush=True)


def arguments(doc: str, task: str, inputs: str, many: bool = True) -> argparse.ArgumentParser:
    """The options every runner takes: the export, its inputs (or one), --json and --provider."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("export", help=f"a folder written by lrcn export RUN OUT --format onnx (a {task} run)")
    parser.add_argument(inputs, nargs="+" if many else None)
    parser.add_argument("--json", action="store_true", help="JSON Lines, as lrcn's own command with --json")
    parser.add_argument("--provider", choices=PROVIDERS, default="onnxruntime")
    return parser


def show(answer: dict, as_json: bool, human) -> bool:
    """Print one answer as lrcn's commands do: an error on stderr (and as its JSON line with --json), else its JSON
    line or ``human(answer)``; True for an error."""
    if "error" in answer:
        say_error(answer["error"])
    if as_json:
        print(json.dumps(answer), flush=True)
    elif "error" not in answer:
        print(human(answer), flush=True)
    return "error" in answer


def answer_each(paths: list[str], answer, as_json: bool, human) -> bool:
    """``answer(path)`` for each path in order, each shown as it comes; a Failure answers its path alone. True if
    any failed."""
    failed = False
    for path in paths:
        try:
            result = {"path": path, **answer(path)}
        except Failure as e:
            result = {"path": path, "error": str(e)}
        failed |= show(result, as_json, human)
    return failed


def run(main) -> None:
    """``main()``, its Failure as one line and exit 1; exit 1 too if ``main`` returns True (some input failed)."""
    try:
        failed = main()
    except Failure as e:
        say_error(str(e))
        sys.exit(1)
    except KeyboardInterrupt:
        sys.exit(130)
    sys.exit(1 if failed else 0)
