"""A sentence and the SR tuple <activity, tool, object, source, target> for each video, as ``lrcn describe OUT
VIDEO... [--beam K] [--json]`` gives them, from an ONNX export alone.

    python describe.py OUT VIDEO... [--beam 1] [--json] [--provider onnxruntime|openvino]

The whole video is one interval: ``n`` frames sampled evenly from it go through cnn.onnx; encode.onnx gives the
CRF's most likely tuple, every slot's marginals and the decoder's static input; step.onnx decodes the sentence.
``--json`` prints lrcn's JSON Lines: {"path", "sentence", "sr": {slot: {"label", "prob"}}} (+ "alternatives", the
rest of the beam), or {"path", "error"} for a video that fails (the others still run; exit 1).
"""
from __future__ import annotations

import numpy as np

from decoding import Decoder, sentence
from lrcn_export import Export, answer_each, arguments, centre_crop, run, video_frames


def describe(export: Export, decoder: Decoder, path: str) -> dict:
    size, n = export.config["input"], export.config["frames"]["count"]
    frames = np.stack(list(video_frames(path, size["decode_size"])))  # (T, S', S', 3)
    index = np.linspace(0, len(frames) - 1, n).round().astype(int)  # n frames spread evenly over the video
    feats = export.features(centre_crop(frames[index], size["image_size"]))  # (n, D)
    image, labels, marginals = export.graphs["encode"]({"features": feats[None]})  # (1, E), (1, K), (1, sum n_k)
    (words, _), *rest = decoder.search(image)[0]
    sr, offset = {}, 0
    for k, slot in enumerate(export.config["slots"]):
        i = int(labels[0, k])
        sr[slot["name"]] = {"label": slot["labels"][i], "prob": round(float(marginals[0, offset + i]), 4)}
        offset += len(slot["labels"])
    answer = {"sentence": sentence(export, words), "sr": sr}
    if rest:
        answer["alternatives"] = [{"sentence": sentence(export, w), "logprob": round(lp, 4)} for w, lp in rest]
    return answer


def main() -> bool:
    parser = arguments(__doc__, "describe", "videos")
    parser.add_argument("--beam", type=int, default=1, help="beam width (1: greedy)")
    args = parser.parse_args()
    export = Export(args.export, "describe", args.provider)
    decoder = Decoder(export, args.beam)

    def human(answer: dict) -> str:
        sr = ", ".join(f"{s}={v['label']} ({v['prob']:.2f})" for s, v in answer["sr"].items())
        return f"{answer['path']}: {answer['sentence']}\n  SR: {sr}"

    return answer_each(args.videos, lambda path: describe(export, decoder, path), args.json, human)


if __name__ == "__main__":
    run(main)
