"""The LSTM decoder of a caption or describe export, run step by step over ``step.onnx``: greedy and beam search, as
``lrcn.models.decoding`` runs them (a sentence's score: the log-probabilities of its words and of the final eos)."""
from __future__ import annotations

import numpy as np

from lrcn_export import Export, Failure


class Decoder:
    """step.onnx with the vocabulary's special words: ``step(words (B,), image (B, E), state) -> (logp (B, V), state)``;
    ``search(image)``: greedy (``beam`` 1) or beam search."""

    def __init__(self, export: Export, beam: int = 1):
        if beam < 1:
            raise Failure(f"--beam {beam}: must be at least 1")
        self.export, self.width, tokens = export, beam, export.config["tokens"]
        self.bos, self.eos, self.steps = tokens["bos"], tokens["eos"], export.config["decoding"]["steps"]

    def search(self, image: np.ndarray) -> list[list[tuple[list[int], float]]]:
        """Image inputs (B, E) -> per image its sentences (words, score), best first: one, or the whole beam."""
        return self.beam(image, self.width) if self.width > 1 else [[c] for c in self.greedy(image)]

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
