"""``lrcn.load(ACTIVITY_RUN)``: videos -> the paper's video label (the softmax averaged over steps and clips), the
top-k classes and, on request, the timeline (the running softmax at every frame, the LSTM's state carried across the
whole video). Several runs (an RGB and a flow stream) are fused with weights, the paper's late fusion."""
from __future__ import annotations

import numpy as np
import torch

from lrcn.bundle import Bundle, open_bundle
from lrcn.config import from_dict
from lrcn.device import resolve
from lrcn.errors import LrcnError, a
from lrcn.features.inputs import Input
from lrcn.models.activity import clips_of, predict_clips, running_scores
from lrcn.predict import BasePredictor, extractor_of, load_weights
from lrcn.tasks.activity.config import ActivityConfig
from lrcn.tasks.activity.network import build_model


class Stream:
    """One trained activity run on a device: its CNN (the registry's, or its own fine-tuned one) and its head."""

    def __init__(self, bundle: Bundle, device: torch.device):
        self.bundle, self.device = bundle, device
        self.cfg = from_dict(ActivityConfig, bundle.config, f"{bundle.path} config")
        self.classes: list[str] = bundle.info["classes"]
        model = build_model(self.cfg, len(self.classes), bundle.info["feature_dim"], pretrained=False)
        self.model = load_weights(bundle, model, device)
        # a fine-tuned run's own CNN, else the registry's
        self.extractor = extractor_of(bundle, self.cfg.features, self.model, self.cfg.source, device)

    def clip_scores(self, clips: torch.Tensor, views: str = "center", mirror: list[int] | None = None
                    ) -> tuple[np.ndarray, np.ndarray]:
        """(N, V, L, D) clips -> (per-clip probabilities (N, C), the video's probabilities (C,))."""
        per_clip, video = predict_clips(self.model.head, clips.to(self.device), views, mirror)
        return per_clip.cpu().numpy(), video.cpu().numpy()

    def scores(self, feats: torch.Tensor) -> np.ndarray:
        """(T, 1, D) centre-view frame features -> the video's probabilities (C,)."""
        return self.clip_scores(clips_of(feats, self.cfg.data.clip_len, self.cfg.data.stride))[1]

    def timeline(self, feats: torch.Tensor) -> np.ndarray:
        """(T, V, D) -> (T, C): the running softmax at every frame (centre view)."""
        return running_scores(self.model.head, feats[:, 0].to(self.device)).cpu().numpy()


class ActivityPredictor(BasePredictor):
    """``predict(video)`` -> ``{"path", "label", "score", "top": [{"label", "score"}], "frames"}`` (+ ``"timeline"``:
    (T, C) probabilities, one row per frame, with ``timeline=True``)."""

    task = "activity"

    def __init__(self, streams: list[Stream], weights: tuple[float, ...], top_k: int = 5, timeline: bool = False):
        super().__init__(streams[0].bundle)
        self.classes = streams[0].classes
        for s in streams[1:]:
            if s.classes != self.classes:
                raise LrcnError(f"{s.bundle.path}: its classes differ from {streams[0].bundle.path}'s; cannot fuse")
        self.streams, self.weights = streams, weights
        self.configure(top_k=top_k, timeline=timeline)

    def configure(self, top_k: int | None = None, timeline: bool | None = None, **unknown) -> None:
        if unknown:
            raise LrcnError(f"unknown option(s) {', '.join(sorted(unknown))} (options: top_k, timeline)")
        if top_k is not None:
            if not isinstance(top_k, int) or top_k < 1:
                raise LrcnError(f"--top-k {top_k}: must be at least 1")
            self.top_k = top_k
        if timeline is not None:
            self.with_timeline = bool(timeline)

    def stream(self):
        """A live stream of frames (:class:`~lrcn.tasks.activity.online.OnlineStream`): the running label, no
        window of past frames recomputed."""
        from lrcn.tasks.activity.online import OnlineStream

        return OnlineStream(self)

    def info(self) -> dict:
        return {**super().info(), "fused": [str(s.bundle.path) for s in self.streams[1:]],
                "weights": list(self.weights)}

    def prepare(self, x: Input, name: str | None) -> list[torch.Tensor]:
        return [s.extractor(x, name) for s in self.streams]  # per stream (T, 1, D)

    def answer(self, prepared: list) -> list[dict]:
        return [self._answer(feats) for feats in prepared]

    def _answer(self, feats: list[torch.Tensor]) -> dict:
        probs = sum(w * s.scores(f) for s, f, w in zip(self.streams, feats, self.weights))
        out = {**top_classes(probs, self.classes, self.top_k), "frames": len(feats[0])}
        if self.with_timeline:
            running = sum(w * s.timeline(f) for s, f, w in zip(self.streams, feats, self.weights))
            out["timeline"] = np.round(running.astype(np.float64), 4).tolist()
        return out


def top_classes(probs: np.ndarray, classes: list[str], k: int) -> dict:
    """(C,) probabilities -> ``{"label", "score", "top": [{"label", "score"}]}``, the ``k`` best first (a video's
    answer, and a live stream's after each frame)."""
    top = np.argsort(-probs, kind="stable")[:k]
    return {"label": classes[top[0]], "score": float(probs[top[0]]),
            "top": [{"label": classes[i], "score": float(probs[i])} for i in top]}


def load_predictor(bundle: Bundle, device: str = "auto", fuse: list | None = None,
                   weights: tuple[float, ...] | None = None, top_k: int = 5, timeline: bool = False
                   ) -> ActivityPredictor:
    """``fuse``: more runs (or exports) whose scores are averaged with this one's, by ``weights`` (default equal)."""
    dev = resolve(device)
    bundles = [bundle, *(open_bundle(p) for p in fuse or [])]
    for b in bundles[1:]:
        if b.task != "activity":
            raise LrcnError(f"{b.path}: {a(b.task)} model, not an activity model; cannot fuse")
    if weights is None:
        weights = tuple(1 / len(bundles) for _ in bundles)
    if len(weights) != len(bundles):
        raise LrcnError(f"--weights: {len(weights)} weights for {len(bundles)} runs")
    return ActivityPredictor([Stream(b, dev) for b in bundles], tuple(weights), top_k, timeline)
