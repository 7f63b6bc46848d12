"""Sentences -> tokens -> word indices, and back.

Tokenisation follows what the COCO evaluation scores (pycocoevalcap's PTBTokenizer): lowercase,
clitics split off as Penn Treebank does ("doesn't" -> "does n't", "man's" -> "man 's"), words with
inner hyphens, periods, colons, slashes or apostrophes kept whole ("black-and-white", "3.50",
"o'clock"), and every other punctuation mark or symbol dropped. On ordinary captions this gives the
same tokens as the PTB tokenizer (a test checks it against the Java one); it differs on rare
symbols the PTB tokenizer keeps as tokens ($ % # &) and on abbreviations ("mr." -> "mr").
The authors' code split on \\W+ instead ("doesn't" -> "doesn t"); we match the evaluation.

The vocabulary is the training words seen at least ``min_count`` times (5 in the paper), after
four special tokens: ``<pad>`` = 0 (ignored by the loss), ``<bos>``, ``<eos>``, ``<unk>``.
"""
from __future__ import annotations

import json
import os
import re
from collections import Counter
from typing import Iterable, Sequence

import torch

from lrcn.errors import LrcnError
from lrcn.files import write_json

_WORD = re.compile(r"[^\W_]+(?:[-./:'][^\W_]+)*")
_CLITICS = ("s", "re", "ve", "ll", "d", "m")
SPECIALS = ("<pad>", "<bos>", "<eos>", "<unk>")


def tokenize(sentence: str) -> list[str]:
    """``"A man's dog doesn't run."`` -> ``["a", "man", "'s", "dog", "does", "n't", "run"]``."""
    tokens: list[str] = []
    for word in _WORD.findall(sentence.lower()):
        if word.endswith("n't") and len(word) > 3:
            tokens += [word[:-3], "n't"]
        elif "'" in word and word.rsplit("'", 1)[1] in _CLITICS:
            stem, clitic = word.rsplit("'", 1)
            tokens += [stem, "'" + clitic]
        else:
            tokens.append(word)
    return tokens


class Vocabulary:
    """Words <-> indices. Index 0 is ``<pad>``; ``pad``, ``bos``, ``eos``, ``unk`` hold the special indices."""

    def __init__(self, words: Sequence[str]):
        if tuple(words[: len(SPECIALS)]) != SPECIALS or len(set(words)) != len(words):
            raise ValueError("a vocabulary starts with the special tokens and lists each word once")
        self.words = list(words)
        self.index = {w: i for i, w in enumerate(self.words)}
        self.pad, self.bos, self.eos, self.unk = (self.index[s] for s in SPECIALS)

    @classmethod
    def build(cls, token_lists: Iterable[Sequence[str]], min_count: int = 5) -> "Vocabulary":
        """Words seen at least ``min_count`` times, most frequent first (ties alphabetical, so the order is fixed)."""
        counts = Counter(t for tokens in token_lists for t in tokens)
        kept = sorted((w for w, c in counts.items() if c >= min_count and w not in SPECIALS), key=lambda w: (-counts[w], w))
        return cls([*SPECIALS, *kept])

    def __len__(self) -> int:
        return len(self.words)

    def __contains__(self, word: str) -> bool:
        return word in self.index

    def encode(self, tokens: Sequence[str], max_len: int = 20) -> list[int]:
        """The first ``max_len`` tokens as indices (unknown words -> ``unk``); no ``<bos>``/``<eos>``."""
        return [self.index.get(t, self.unk) for t in tokens[:max_len]]

    def decode(self, ids: Iterable[int]) -> str:
        """Indices -> sentence: stops at the first ``<eos>``, leaves out every special token (``<unk>`` too)."""
        words: list[str] = []
        for i in ids:
            i = int(i)
            if i == self.eos:
                break
            if i >= len(SPECIALS):
                words.append(self.words[i])
        return " ".join(words)

    def save(self, path: str | os.PathLike) -> None:
        write_json(path, {"format": "lrcn-vocabulary", "version": 1, "words": self.words})

    @classmethod
    def load(cls, path: str | os.PathLike) -> "Vocabulary":
        try:
            with open(path) as f:
                data = json.load(f)
            if data.get("format") != "lrcn-vocabulary":
                raise ValueError("no 'format': 'lrcn-vocabulary' entry")
            return cls(data["words"])
        except OSError as e:
            raise LrcnError(f"{path}: cannot read vocabulary ({e.strerror or e})") from None
        except (ValueError, KeyError, TypeError, AttributeError) as e:
            raise LrcnError(f"{path}: not a vocabulary file ({e})") from None


def encode_batch(vocab: Vocabulary, token_lists: Sequence[Sequence[str]], max_len: int = 20) -> tuple[torch.Tensor, torch.Tensor]:
    """Teacher-forcing pairs: inputs ``[bos] + words``, targets ``words + [eos]``, both (N, L+1) int64.

    L is the longest encoded sentence in the batch (at most ``max_len``); shorter rows are padded
    with ``vocab.pad``, which the loss ignores.
    """
    encoded = [vocab.encode(tokens, max_len) for tokens in token_lists]
    width = max((len(e) for e in encoded), default=0) + 1
    inputs = torch.full((len(encoded), width), vocab.pad, dtype=torch.long)  # (N, L+1)
    targets = torch.full((len(encoded), width), vocab.pad, dtype=torch.long)  # (N, L+1)
    for row, ids in enumerate(encoded):
        inputs[row, : len(ids) + 1] = torch.tensor([vocab.bos, *ids])
        targets[row, : len(ids) + 1] = torch.tensor([*ids, vocab.eos])
    return inputs, targets
