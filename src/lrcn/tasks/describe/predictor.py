"""``lrcn.load(DESCRIBE_RUN)``: videos -> a sentence and the SR tuple <activity, tool, object, source, target>,
each slot with the CRF's marginal probability of its label."""
from __future__ import annotations

import torch

from lrcn.bundle import Bundle
from lrcn.config import from_dict
from lrcn.data.tacos import SLOTS
from lrcn.data.text import Vocabulary
from lrcn.data.video import even_indices
from lrcn.device import resolve
from lrcn.features.inputs import Input
from lrcn.models.decoding import Decoding, configure_decoding, decode
from lrcn.predict import BasePredictor, extractor_of, load_weights
from lrcn.tasks.describe.config import DescribeConfig
from lrcn.tasks.describe.network import build_model

VOCAB_FILE = "vocab.json"


class DescribePredictor(BasePredictor):
    """``predict(video)`` -> ``{"path", "sentence", "sr": {slot: {"label", "prob"}}}`` (+ ``"alternatives"``, the rest
    of the beam, with ``beam > 1``): the whole video is one interval, ``frames`` frames sampled evenly from it."""

    task = "describe"

    def __init__(self, bundle: Bundle, device: torch.device, decoding: Decoding):
        super().__init__(bundle)
        self.cfg = from_dict(DescribeConfig, bundle.config, f"{bundle.path} config")
        self.vocab = Vocabulary.load(bundle.file(VOCAB_FILE))
        self.labels = [bundle.info["labels"][s] for s in SLOTS]
        self.decoding, self.device = decoding.check(), device
        self.model = load_weights(bundle, build_model(self.cfg, bundle.info), device)
        self.extractor = extractor_of(bundle, self.cfg.features, self.model, "rgb", device)

    def configure(self, **decoding) -> None:
        self.decoding = configure_decoding(self.decoding, decoding)

    def prepare(self, x: Input, name: str | None) -> torch.Tensor:
        views = self.extractor.views(x, name)  # (T, 1, 3, S, S)
        return views[even_indices(0, len(views) - 1, len(views), self.cfg.data.frames), 0]  # (n, 3, S, S)

    def answer(self, prepared: list) -> list[dict]:
        feats = self.extractor.embed(torch.stack(prepared))  # (B, n, D) float16
        return self.describe(feats)

    @torch.inference_mode()
    def infer(self, feats: torch.Tensor) -> tuple[list, torch.Tensor, torch.Tensor]:
        """(N, n, D) frame features -> (per interval its sentences best first, MAP labels (N, K), marginals)."""
        cond, map_labels, marginals = self.model.infer(feats.to(self.device))
        beams = decode(self.model.describer.decoder, cond, self.vocab.bos, self.vocab.eos, self.decoding,
                       self.cfg.data.max_len)
        return beams, map_labels.cpu(), marginals.cpu()

    def describe(self, feats: torch.Tensor) -> list[dict]:
        beams, map_labels, marginals = self.infer(feats)
        probs = marginals.split([len(n) for n in self.labels], dim=1)
        out = []
        for n, ((words, _), *rest) in enumerate(beams):
            answer = {"sentence": self.vocab.decode(words),
                      "sr": {s: {"label": self.labels[k][int(map_labels[n, k])],
                                 "prob": round(float(probs[k][n, map_labels[n, k]]), 4)} for k, s in enumerate(SLOTS)}}
            if rest:
                answer["alternatives"] = [{"sentence": self.vocab.decode(w), "logprob": round(lp, 4)} for w, lp in rest]
            out.append(answer)
        return out


def load_predictor(bundle: Bundle, device: str = "auto", beam: int = 1, sample: int = 0, temperature: float = 1.0,
                   length_norm: bool = False, seed: int = 0) -> DescribePredictor:
    return DescribePredictor(bundle, resolve(device), Decoding(beam, sample, temperature, length_norm, seed))
