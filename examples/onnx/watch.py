"""The running label of a video as it plays, the LSTM's state carried from one frame to the next: what a camera box
runs. Each frame goes through cnn.onnx once and step.onnx once (T = 1); nothing is recomputed.

    python watch.py OUT SOURCE [--every 8] [--top-k 5] [--json] [--provider onnxruntime|openvino]

SOURCE: anything FFmpeg opens (a file, rtsp://, http://). One line per ``--every`` frames, as ``lrcn watch``:
{"frame", "label", "score", "top"} with --json. The running prediction after the last frame is the last row
of ``lrcn classify RUN VIDEO --json --timeline`` (a video's final label remains the clip-averaged one, classify.py).
"""
from __future__ import annotations

import json

from lrcn_export import Export, arguments, centre_crop, run, top_classes, video_frames


def main() -> bool:
    parser = arguments(__doc__, "activity", "source", many=False)
    parser.add_argument("--every", type=int, default=8, help="print the running label every N frames")
    parser.add_argument("--top-k", type=int, default=5)
    args = parser.parse_args()
    export = Export(args.export, "activity", args.provider)
    size, classes = export.config["input"], export.config["classes"]
    state = export.zero_state(1)  # h1, c1: (1, H) each
    answer, index = None, -1
    for index, frame in enumerate(video_frames(args.source, size["decode_size"])):
        feats = export.features(centre_crop(frame[None], size["image_size"]))  # (1, D)
        probs, *new = export.step({"features": feats[None], **state})  # (1, 1, C), then the new state
        state = dict(zip(export.state_names, new))
        if (index + 1) % args.every == 0:
            answer = show(index, probs[0, -1], classes, args)
    if answer is None or answer["frame"] != index:
        answer = show(index, probs[0, -1], classes, args)
    if not args.json:
        print(f"{args.source}: {answer['label']} ({answer['score']:.2f}) after {index + 1} frames")
    return False


def show(index: int, probs, classes: list[str], args) -> dict:
    answer = {"frame": index, **top_classes(probs, classes, args.top_k)}
    if args.json:
        print(json.dumps(answer), flush=True)
    else:
        others = ", ".join(f"{t['label']} {t['score']:.2f}" for t in answer["top"][1:])
        print(f"frame {index:>6}  {answer['label']} {answer['score']:.2f}{'  [' + others + ']' if others else ''}",
              flush=True)
    return answer


if __name__ == "__main__":
    run(main)
