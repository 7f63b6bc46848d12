"""A caption for each image, as ``lrcn caption OUT IMAGE... [--beam K] [--json]`` gives it, from an ONNX export alone.

    python caption.py OUT IMAGE... [--beam 1] [--json] [--provider onnxruntime|openvino]

cnn.onnx turns each image into the decoder's image input once; step.onnx is one step of the LSTM decoder (previous
word, image input, state -> log-probabilities of the next word, new state); greedy and beam search run here, all
images of a call in one batch. ``--json`` prints lrcn's JSON Lines: {"path", "caption", "logprob"} (+
"alternatives", the rest of the beam), or {"path", "error"} for an image that fails (the others still run; exit 1).
"""
from __future__ import annotations

import numpy as np

from decoding import Decoder, sentence
from lrcn_export import Export, Failure, arguments, centre_crop, load_image, run, show


def main() -> bool:
    parser = arguments(__doc__, "caption", "images")
    parser.add_argument("--beam", type=int, default=1, help="beam width (1: greedy)")
    args = parser.parse_args()
    export = Export(args.export, "caption", args.provider)
    decoder, size = Decoder(export, args.beam), export.config["input"]
    answers, crops = [], []  # an answer per image, in order; the crops of those that read
    for path in args.images:
        try:
            crops.append(centre_crop(load_image(path, size["decode_size"]), size["image_size"]))
            answers.append({"path": path})
        except Failure as e:
            answers.append({"path": path, "error": str(e)})
    ready = [a for a in answers if "error" not in a]
    if ready:
        image = export.features(np.stack(crops))  # (B, E): the decoder's image input, all images in one batch
        for answer, ((words, logprob), *rest) in zip(ready, decoder.search(image)):
            answer.update(caption=sentence(export, words), logprob=round(logprob, 4))
            if rest:
                answer["alternatives"] = [{"caption": sentence(export, w), "logprob": round(lp, 4)} for w, lp in rest]
    failed = [show(a, args.json, lambda a: f"{a['path']}: {a['caption']}") for a in answers]
    return any(failed)


if __name__ == "__main__":
    run(main)
