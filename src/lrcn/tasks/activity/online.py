"""Live recognition: frames in as they arrive, the running class probabilities out, the LSTM's state carried.

Each frame goes through each stream's CNN once and the LSTM continues from where it stopped, so no window of past
frames is ever recomputed (peer repositories re-run a sliding 16-frame window through CNN and LSTM at every step).
This is the paper's per-step prediction read live; a video's final label remains the clip-averaged one
(:class:`~lrcn.tasks.activity.predictor.ActivityPredictor`).

A flow stream sees the flow from the previous frame to the current one. Offline, frame t's flow image is the flow
t -> t+1; live, the next frame is not there yet, so the flow stream lags one frame (the first frame: zero flow).
"""
from __future__ import annotations

import numpy as np
import torch

from lrcn.data.flow import FLOW_CENTER, capped_size, compute_flow, render_flow, resize_images
from lrcn.data.transforms import crop_views, to_tensor
from lrcn.data.video import resize_frames
from lrcn.features.inputs import frames_array


class OnlineStream:
    """``push(frames)``: (n, H, W, 3) uint8 RGB frames, in order -> (n, C) fused probabilities after each frame."""

    def __init__(self, predictor):
        self.predictor = predictor
        self.reset()

    def reset(self) -> None:
        """Start a new video: forget the LSTM state and the previous frame."""
        self.states = [None] * len(self.predictor.streams)
        self.previous: list[np.ndarray | None] = [None] * len(self.predictor.streams)
        self.frames = 0

    @torch.inference_mode()
    def push(self, frames: np.ndarray) -> np.ndarray:
        frames = frames_array(frames, "frames")
        probs = 0.0
        for i, (stream, weight) in enumerate(zip(self.predictor.streams, self.predictor.weights)):
            spec = stream.extractor.spec
            images = self._images(i, spec, frames)  # (n, S', S', 3): what the CNN crops
            feats = stream.extractor.embed(crop_views(to_tensor(images), spec.image_size, "center"))[:, 0]  # (n, D)
            logits, self.states[i] = stream.model.head(feats[None].float().to(stream.device), self.states[i])
            probs = probs + weight * logits[0].float().softmax(-1).cpu().numpy()  # (n, C)
        self.frames += len(frames)
        return probs

    def _images(self, i: int, spec, frames: np.ndarray) -> np.ndarray:
        size = (spec.decode_size, spec.decode_size)
        if spec.source == "rgb":
            return resize_frames(frames, size)
        h, w = capped_size(*frames.shape[1:3], spec.flow_side)
        small = resize_frames(frames, (h, w))
        before = self.previous[i]
        self.previous[i] = small[-1]
        if before is None:  # the first frame: no motion seen yet
            flow = np.concatenate([np.full((1, h, w, 3), FLOW_CENTER, np.uint8),
                                   render_flow(compute_flow(small, spec.source.removeprefix("flow-")))])
        else:
            flow = render_flow(compute_flow(np.concatenate([before[None], small]), spec.source.removeprefix("flow-")))
        return resize_images(flow, size)
