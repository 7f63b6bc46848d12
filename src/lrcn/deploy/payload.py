"""The ONNX payload of an export (``lrcn export RUN OUT --format onnx``): the graphs and the ``"onnx"`` section of
``config.json``, which holds everything a runner needs and nothing it must guess.

    cnn.onnx     frames (N, S, S, 3) uint8 RGB -> activity, describe: features (N, D); captioning: image (N, E)
    step.onnx    activity: features (N, T, D), h1, c1 (N, H) -> probs (N, T, C), h1_new, c1_new
                 captioning, describe: words (N,) int64, image (N, E), h1, c1, h2, ... (N, H) -> logp (N, V), h1_new, ...
    encode.onnx  describe: features of n frames (N, n, D) -> image (N, E), labels (N, K) int64, marginals (N, sum n_k)

All fp32, opset :data:`OPSET`, with dynamic N (and T): one step graph serves a whole clip and a live stream one frame
at a time. The section names each graph's sha256, the classes, vocabulary or SR labels, the input size and the
resize and crop rule, the clip length and stride and the clip-averaging rule (or the decoding rule), and the state.
Single runs only: a fused prediction (RGB + flow) is two exports whose video probabilities the caller averages, and
a flow stream is refused (the runner computes no optical flow).
"""
from __future__ import annotations

import importlib
from pathlib import Path

import torch

from lrcn.bundle import Bundle
from lrcn.deploy.graph import sha256, to_onnx
from lrcn.deploy.nets import ActivityStep, CaptionStep, DescribeEncoder, FrameCNN
from lrcn.errors import LrcnError, a
from lrcn.features.spec import FeatureSpec

OPSET = 18  # read by ONNX Runtime >= 1.14 (and its web and mobile builds), OpenVINO >= 2023.0, TensorRT >= 8.6

VIDEO_RESIZE = ("each decoded frame is converted to RGB and scaled to decode_size x decode_size in one FFmpeg "
                "swscale call, bilinear, aspect ratio ignored (PyAV: frame.to_ndarray(format='rgb24', "
                "width=decode_size, height=decode_size))")
IMAGE_RESIZE = ("decoded by Pillow (EXIF orientation applied, transparency composited on white, then RGB; a JPEG "
                "larger than decode_size in draft mode, at the smallest 1/2^k scale not below it), then "
                "Image.resize((decode_size, decode_size), Image.BILINEAR), aspect ratio ignored")
CROP = "the centre image_size x image_size square, from offset (decode_size - image_size) // 2 on both axes"
CLIPS = ("test clips of `length` frames start at 0, stride, 2*stride, ... while they fit, plus one clip ending at the "
         "last frame; a video of at most `length` frames is one clip, its frames looped (frame index modulo T)")
AVERAGE = ("each clip runs from the zero state; the video's probabilities are the mean of step.onnx's per-step "
           "probabilities over all steps of all clips; the label is their argmax, top-k their k largest (first index "
           "wins a tie)")
TIMELINE = "the running label: step.onnx over the video's frames in order, the state carried, from the zero state"
FRAMES = "the n frames at indices round(linspace(0, T - 1, n)) of the video's T frames, in order"
DECODE = ("start with `bos` and the zero state; each step feeds the previous word; greedy takes the argmax; a sentence "
          "ends at `eos` or after `steps` steps; its score is the sum of the log-probabilities of its words and of "
          "the final eos; beam search keeps the `beam` best partial sentences, a finished one kept with its score")


def write_onnx(bundle: Bundle, folder: Path, sample: str | Path | None = None) -> dict:
    """Write the graphs of ``bundle`` into ``folder``, check them against the PyTorch model on ``sample`` (a video or
    image file; None: an embedded one) and return the ``"onnx"`` section of ``config.json``; LrcnError for a flow
    stream, or if the graphs do not match the model."""
    from lrcn.deploy import parity

    predictor = importlib.import_module(f"lrcn.tasks.{bundle.task}.predictor").load_predictor(bundle, device="cpu")
    section, nets = {"activity": _activity, "caption": _caption, "describe": _describe}[bundle.task](bundle, predictor)
    graphs = {}
    for name, (net, example, inputs, outputs) in nets.items():
        path = to_onnx(net, example, folder / f"{name}.onnx", inputs, outputs, OPSET)
        graphs[name] = {"file": path.name, "sha256": sha256(path), "inputs": inputs, "outputs": outputs}
    checked = parity.check(bundle.task, predictor, {k: folder / v["file"] for k, v in graphs.items()}, sample)
    return {"opset": OPSET, "precision": "fp32", "graphs": graphs, **section, "parity": checked}


def _input(spec: FeatureSpec, kind: str) -> dict:
    return {"kind": kind, "pixels": "uint8 RGB, (N, image_size, image_size, 3); cnn.onnx normalises",
            "image_size": spec.image_size, "decode_size": spec.decode_size,
            "resize": VIDEO_RESIZE if kind == "video" else IMAGE_RESIZE, "crop": CROP}


def _state(layers: int, hidden: int) -> tuple[list[dict], dict, dict]:
    """The state's entries for the section, and the step graph's state inputs and outputs (name -> shape): h and c
    of each LSTM layer, bottom first, each (N, H), zeros at the start of a clip or a sentence."""
    names = [f"{x}{k}" for k in range(1, layers + 1) for x in "hc"]
    entries = [{"name": n, "shape": ["N", hidden], "next": f"{n}_new", "start": "zeros"} for n in names]
    return entries, {n: ["N", hidden] for n in names}, {f"{n}_new": ["N", hidden] for n in names}


def _activity(bundle: Bundle, predictor) -> tuple[dict, dict]:
    stream = predictor.streams[0]
    spec, cfg = stream.extractor.spec, stream.cfg
    if spec.source != "rgb":
        raise LrcnError(f"{bundle.path}: {a(spec.source)} stream; --format onnx exports RGB runs (a runner of ONNX "
                        "graphs computes no optical flow)")
    d, c, s = bundle.info["feature_dim"], len(stream.classes), spec.image_size
    stateful = cfg.model.arch == "lrcn"
    state, ins, outs = _state(1, cfg.model.hidden) if stateful else ([], {}, {})
    inputs, outputs = {"features": ["N", "T", d], **ins}, {"probs": ["N", "T", c], **outs}
    example = (torch.zeros(2, 3, d), *(torch.zeros(2, cfg.model.hidden) for _ in state))
    nets = {"cnn": (FrameCNN(stream.extractor.backbone), (torch.zeros(2, s, s, 3, dtype=torch.uint8),),
                    {"frames": ["N", s, s, 3]}, {"features": ["N", d]}),
            "step": (ActivityStep(stream.model.head), example, inputs, outputs)}
    section = {"input": _input(spec, "video"), "classes": stream.classes, "state": state,
               "clip": {"length": cfg.data.clip_len, "stride": cfg.data.stride, "clips": CLIPS, "average": AVERAGE},
               "timeline": TIMELINE}
    return section, nets


def _caption(bundle: Bundle, predictor) -> tuple[dict, dict]:
    model, spec = predictor.model, predictor.extractor.spec
    s, e = spec.image_size, predictor.cfg.model.image_dim
    section, step = _decoder(model.captioner, predictor.vocab, predictor.cfg.data.max_len, e)
    cnn = (FrameCNN(predictor.extractor.backbone, model.image_fc), (torch.zeros(2, s, s, 3, dtype=torch.uint8),),
           {"frames": ["N", s, s, 3]}, {"image": ["N", e]})
    return {"input": _input(spec, "image"), **section}, {"cnn": cnn, "step": step}


def _describe(bundle: Bundle, predictor) -> tuple[dict, dict]:
    from lrcn.data.tacos import SLOTS

    model, spec, d, n = predictor.model, predictor.extractor.spec, bundle.info["feature_dim"], predictor.cfg.data.frames
    s, sizes = spec.image_size, [len(names) for names in predictor.labels]
    with torch.no_grad():
        e = model.infer(torch.zeros(1, n, d))[0].shape[1]  # the decoder's static input: its width by variant
    section, step = _decoder(model.describer.decoder, predictor.vocab, predictor.cfg.data.max_len, e)
    nets = {"cnn": (FrameCNN(predictor.extractor.backbone), (torch.zeros(2, s, s, 3, dtype=torch.uint8),),
                    {"frames": ["N", s, s, 3]}, {"features": ["N", d]}),
            "encode": (DescribeEncoder(model), (torch.zeros(2, n, d),), {"features": ["N", n, d]},
                       {"image": ["N", e], "labels": ["N", len(SLOTS)], "marginals": ["N", sum(sizes)]}),
            "step": step}
    slots = [{"name": slot, "labels": names} for slot, names in zip(SLOTS, predictor.labels)]
    return {"input": _input(spec, "video"), "frames": {"count": n, "rule": FRAMES}, "slots": slots, **section}, nets


def _decoder(captioner, vocab, max_len: int, e: int) -> tuple[dict, tuple]:
    """The decoder step's graph (module, example, inputs, outputs) and its part of the section (vocabulary, state,
    decoding rule), for an image input of width ``e``."""
    h = captioner.predict.in_features
    state, ins, outs = _state(len(captioner.layers), h)
    inputs, outputs = {"words": ["N"], "image": ["N", e], **ins}, {"logp": ["N", len(vocab)], **outs}
    example = (torch.full((2,), vocab.bos), torch.zeros(2, e), *(torch.zeros(2, h) for _ in state))
    section = {"vocabulary": vocab.words, "state": state,
               "tokens": {"pad": vocab.pad, "bos": vocab.bos, "eos": vocab.eos, "unk": vocab.unk},
               "decoding": {"steps": max_len + 1, "rule": DECODE,
                            "text": "the words before the first eos, special tokens left out, joined by spaces"}}
    return section, (CaptionStep(captioner), example, inputs, outputs)
