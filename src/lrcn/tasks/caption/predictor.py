"""``lrcn.load(CAPTION_RUN)``: images -> captions (greedy, beam search, or the best of N samples), with their
log-probabilities and, for a beam, its alternatives."""
from __future__ import annotations

import torch

from lrcn.bundle import Bundle
from lrcn.config import from_dict
from lrcn.data.text import Vocabulary, encode_batch, tokenize
from lrcn.device import resolve
from lrcn.errors import LrcnError
from lrcn.features.inputs import Input, name_of
from lrcn.metrics.retrieval import normalise_logp
from lrcn.models.pair_score import pair_logprob
from lrcn.models.decoding import Decoding, configure_decoding, decode
from lrcn.predict import BasePredictor, extractor_of, load_weights
from lrcn.tasks.caption.config import CaptionConfig
from lrcn.tasks.caption.network import build_model

VOCAB_FILE = "vocab.json"


class CaptionPredictor(BasePredictor):
    """``predict(image)`` -> ``{"path", "caption", "logprob"}`` (+ ``"alternatives": [{"caption", "logprob"}]``, the
    rest of the beam, with ``beam > 1``). ``predict_many`` runs the CNN and the decoder on the whole batch at once."""

    task = "caption"

    def __init__(self, bundle: Bundle, device: torch.device, decoding: Decoding):
        super().__init__(bundle)
        self.cfg = from_dict(CaptionConfig, bundle.config, f"{bundle.path} config")
        self.vocab = Vocabulary.load(bundle.file(VOCAB_FILE))
        self.decoding, self.device = decoding.check(), device
        model = build_model(self.cfg, len(self.vocab), bundle.info["feature_dim"], pretrained=False)
        self.model = load_weights(bundle, model, device)
        self.extractor = extractor_of(bundle, self.cfg.features, self.model, "image", device)

    def configure(self, **decoding) -> None:
        self.decoding = configure_decoding(self.decoding, decoding)

    def prepare(self, x: Input, name: str | None) -> torch.Tensor:
        return self.extractor.views(x, name)[0, 0]  # (3, S, S) uint8, the centre crop

    def answer(self, prepared: list) -> list[dict]:
        feats = self.extractor.embed(torch.stack(prepared)).float()  # (B, D), as the feature cache computes them
        out = []
        for beam in self.captions(feats):
            (words, logprob), *rest = beam
            answer = {"caption": self.vocab.decode(words), "logprob": round(logprob, 4)}
            if rest:
                answer["alternatives"] = [{"caption": self.vocab.decode(w), "logprob": round(lp, 4)} for w, lp in rest]
            out.append(answer)
        return out

    @torch.inference_mode()
    def rank(self, images: list[Input], sentences: list[str], names: list[str | None] | None = None) -> dict:
        """Image-sentence retrieval by this captioner (the paper's Table 4): log p(sentence | image) of every pair,
        normalised as the authors' ``retrieval_experiment.py`` (minus the log of the sentence's mean likelihood
        over the images) when there are several images; with one image that is 0 for every sentence, so the
        sentences then rank by their log-likelihood. Returns ``{"scores": (I, S), "annotation": per image the
        sentence indices best first, "search": per sentence the image indices best first}``; LrcnError for an
        unreadable image or an empty list."""
        if not images or not sentences:
            raise LrcnError("retrieval needs at least one image and one sentence")
        names = names or [None] * len(images)
        views = torch.stack([self.prepare(x, n or name_of(x)) for x, n in zip(images, names)])
        cond = self.model.encode(self.extractor.embed(views).float().to(self.device))  # (I, image_dim)
        inputs, targets = encode_batch(self.vocab, [tokenize(s) for s in sentences], self.cfg.data.max_len)
        logp = pair_logprob(self.model.captioner, cond, inputs, targets, self.vocab.pad)  # (I, S)
        scores = normalise_logp(logp) if len(images) > 1 else logp
        return {"scores": scores.tolist(), "normalised": len(images) > 1,
                "annotation": scores.argsort(1, descending=True).tolist(),
                "search": scores.argsort(0, descending=True).T.tolist()}

    @torch.inference_mode()
    def captions(self, feats: torch.Tensor) -> list:
        """CNN features (N, D) -> per image its candidates (tokens, log-probability), best first."""
        cond = self.model.encode(feats.to(self.device))
        return decode(self.model.captioner, cond, self.vocab.bos, self.vocab.eos, self.decoding, self.cfg.data.max_len)


def load_predictor(bundle: Bundle, device: str = "auto", beam: int = 1, sample: int = 0, temperature: float = 1.0,
                   length_norm: bool = False, seed: int = 0) -> CaptionPredictor:
    return CaptionPredictor(bundle, resolve(device), Decoding(beam, sample, temperature, length_norm, seed))
