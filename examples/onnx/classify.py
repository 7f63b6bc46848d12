"""The action in each video, as ``lrcn classify OUT VIDEO... [--json]`` gives it, from an ONNX export alone.

    python classify.py OUT VIDEO... [--top-k 5] [--json] [--provider onnxruntime|openvino]

The paper's video label: test clips of ``length`` frames every ``stride`` frames, each read by the LSTM from the
zero state, the softmax at every step averaged over steps and clips. ``--json`` prints lrcn's JSON Lines, one per
video: {"path", "label", "score", "top": [{"label", "score"}], "frames"}, or {"path", "error"} for a video that
fails (the others still run; exit 1).
"""
from __future__ import annotations

import numpy as np

from lrcn_export import Export, answer_each, arguments, centre_crop, run, top_classes, video_frames


def clip_starts(frames: int, length: int, stride: int) -> list[int]:
    """0, stride, 2 * stride, ... while a clip fits, and one clip ending at the last frame; [0] for a short video."""
    if frames <= length:
        return [0]
    starts = list(range(0, frames - length + 1, stride))
    return starts if starts[-1] == frames - length else [*starts, frames - length]


def classify(export: Export, path: str, top_k: int) -> dict:
    size = export.config["input"]
    crops = centre_crop(np.stack(list(video_frames(path, size["decode_size"]))), size["image_size"])  # (T, S, S, 3)
    feats = export.features(crops)  # (T, D)
    length, stride = export.config["clip"]["length"], export.config["clip"]["stride"]
    starts = clip_starts(len(feats), length, stride)
    index = (np.array(starts)[:, None] + np.arange(length)) % len(feats)  # (clips, length): a short video loops
    probs = export.step({"features": feats[index], **export.zero_state(len(starts))})[0]  # (clips, length, C)
    video = probs.reshape(-1, probs.shape[-1]).mean(0)  # (C,): over every step of every clip
    return {**top_classes(video, export.config["classes"], top_k), "frames": len(feats)}


def main() -> bool:
    parser = arguments(__doc__, "activity", "videos")
    parser.add_argument("--top-k", type=int, default=5)
    args = parser.parse_args()
    export = Export(args.export, "activity", args.provider)

    def human(answer: dict) -> str:
        top = ", ".join(f"{t['label']} {t['score']:.2f}" for t in answer["top"])
        return f"{answer['path']}: {answer['label']} ({answer['score']:.2f})  [{top}]"

    return answer_each(args.videos, lambda path: classify(export, path, args.top_k), args.json, human)


if __name__ == "__main__":
    run(main)
