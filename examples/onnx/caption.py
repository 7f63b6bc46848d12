"""A caption for each image, as ``lrcn caption OUT IMAGE... [--beam K] [--json]`` gives it, from an ONNX export alone.

    python caption.py OUT IMAGE... [--beam 1] [--json] [--provider onnxruntime|openvino]

cnn.onnx turns each image into the decoder's image input once; step.onnx is one step of the LSTM decoder (previous
word, image input, state -> log-probabilities of the next word, new state); greedy and beam search run here, all
images of a call in one batch. ``--json`` prints lrcn's JSON Lines: {"path", "caption", "logprob"} (+
"alternatives", the rest of the beam), or {"path", "error"} for an image that fails (the others still run; exit 1).
"""
from __future__ import annotations

import argparse
import json

import numpy as np

from lrcn_export import PROVIDERS, Export, Failure, centre_crop, load_image, run, say_error


class Decoder:
    """step.onnx with the vocabulary's special words: ``step(words (B,), image (B, E), state) -> (logp (B, V), state)``."""

    def __init__(self, export: Export):
        self.export, tokens = export, export.config["tokens"]
        self.bos, self.eos, self.steps = tokens["bos"], tokens["eos"], export.config["decoding"]["steps"]

    def step(self, words, image, state):
        logp, *new = self.export.step({"words": words, "image": image, **state})
        return logp, dict(zip(self.export.state_names, new))

    def greedy(self, image: np.ndarray) -> list[tuple[list[int], float]]:
        """The most likely word at every step; per image (words, log-probability of them and of the final eos)."""
        b = len(image)
        words, state = np.full(b, self.bos, np.int64), self.export.zero_state(b)
        logprob, done, tokens = np.zeros(b, np.float32), np.zeros(b, bool), []
        for _ in range(self.steps):
            logp, state = self.step(words, image, state)  # (B, V)
            words = np.where(done, self.eos, logp.argmax(-1))
            logprob = logprob + np.where(done, 0, logp[np.arange(b), words]).astype(np.float32)
            tokens.append(words)
            done = done | (words == self.eos)
            if done.all():
                break
        return [(self.until(row), float(lp)) for row, lp in zip(np.stack(tokens, 1).tolist(), logprob)]

    def beam(self, image: np.ndarray, k: int) -> list[list[tuple[list[int], float]]]:
        """Beam search, as lrcn.models.decoding.beam_search: per image its ``k`` best sentences, best first."""
        b = len(image)
        rows, state = np.repeat(image, k, axis=0), self.export.zero_state(b * k)  # image i's beams: rows i*k..i*k+k-1
        words = np.full(b * k, self.bos, np.int64)
        scores = np.full((b, k), -np.inf, np.float32)
        scores[:, 0] = 0.0  # one live sentence per image at the start
        done, history = np.zeros((b, k), bool), np.zeros((b, k, 0), np.int64)
        for _ in range(self.steps):
            logp, state = self.step(words, rows, state)
            logp = logp.reshape(b, k, -1)  # (B, k, V)
            vocab = logp.shape[-1]
            frozen = np.full_like(logp, -np.inf)
            frozen[..., self.eos] = 0.0  # a finished sentence extends only by eos, at no cost
            total = (scores[..., None] + np.where(done[..., None], frozen, logp)).reshape(b, k * vocab)
            flat = np.argsort(-total, axis=1, kind="stable")[:, :k]  # (B, k), best first
            scores = np.take_along_axis(total, flat, 1)
            parent, word = flat // vocab, flat % vocab
            history = np.concatenate([np.take_along_axis(history, parent[..., None], 1), word[..., None]], -1)
            done = np.take_along_axis(done, parent, 1) | (word == self.eos)
            keep = (parent + np.arange(b)[:, None] * k).reshape(-1)  # the rows of the parents
            state, words = {n: s[keep] for n, s in state.items()}, word.reshape(-1)
            if done.all():
                break
        return [[(self.until(history[i, j].tolist()), float(scores[i, j]))
                 for j in np.argsort(-scores[i], kind="stable") if scores[i, j] > -np.inf] for i in range(b)]

    def until(self, tokens: list[int]) -> list[int]:
        return tokens[: tokens.index(self.eos)] if self.eos in tokens else tokens


def sentence(export: Export, tokens: list[int]) -> str:
    """Word indices -> the sentence, the special words (pad, bos, eos, unk) left out."""
    special = set(export.config["tokens"].values())
    return " ".join(export.config["vocabulary"][i] for i in tokens if i not in special)


def main() -> bool:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("export", help="a folder written by lrcn export RUN OUT --format onnx (a caption run)")
    parser.add_argument("images", nargs="+")
    parser.add_argument("--beam", type=int, default=1, help="beam width (1: greedy)")
    parser.add_argument("--json", action="store_true", help="JSON Lines, as lrcn caption --json")
    parser.add_argument("--provider", choices=PROVIDERS, default="onnxruntime")
    args = parser.parse_args()
    if args.beam < 1:
        raise Failure(f"--beam {args.beam}: must be at least 1")
    export = Export(args.export, "caption", args.provider)
    size, answers, crops = export.config["input"], {}, []
    for i, path in enumerate(args.images):
        try:
            crops.append(centre_crop(load_image(path, size["decode_size"]), size["image_size"]))
            answers[i] = None
        except Failure as e:
            answers[i] = {"path": path, "error": str(e)}
    ready = [i for i, a in answers.items() if a is None]
    if ready:
        decoder = Decoder(export)
        image = export.features(np.stack(crops))  # (B, E): the decoder's image input
        beams = decoder.beam(image, args.beam) if args.beam > 1 else [[c] for c in decoder.greedy(image)]
        for i, ((words, logprob), *rest) in zip(ready, beams):
            answers[i] = {"path": args.images[i], "caption": sentence(export, words), "logprob": round(logprob, 4)}
            if rest:
                answers[i]["alternatives"] = [{"caption": sentence(export, w), "logprob": round(lp, 4)} for w, lp in rest]
    for answer in answers.values():
        if "error" in answer:
            say_error(answer["error"])
        if args.json:
            print(json.dumps(answer), flush=True)
        elif "error" not in answer:
            print(f"{answer['path']}: {answer['caption']}", flush=True)
    return any("error" in a for a in answers.values())


if __name__ == "__main__":
    run(main)
