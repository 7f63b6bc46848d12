"""The limits a server holds under abuse; each field is also a flag of ``lrcn serve`` (``--max-upload-mb`` ...)."""
from __future__ import annotations

from dataclasses import dataclass

from lrcn.config import arg
from lrcn.data.limits import Limits


@dataclass
class ServeLimits:
    max_upload_mb: float = arg(64.0, "Largest request body, MB: beyond it, 413 before the body is read.", low=0.001)
    max_frames: int = arg(1500, "Longest video, frames (60 s at 25 fps): a longer one is refused (422), not cut.",
                          low=1)
    max_pixels: int = arg(16_777_216, "Largest image or video frame, pixels (4096 x 4096).", low=1)
    workers: int = arg(1, "Model workers: requests computed at once (each uses the machine's torch threads).",
                       low=1, high=64)
    queue: int = arg(8, "Requests that may wait for a worker; beyond them, 503 with Retry-After.", low=0)
    timeout: float = arg(60.0, "Seconds a request may take, waiting included (then 503); decoding stops too.",
                         low=0.1)
    max_streams: int = arg(4, "Live /v1/stream connections at once.", low=0)
    idle: float = arg(60.0, "Seconds a live stream may stay silent before it is closed.", low=0.1)
    max_images: int = arg(32, "Images in one /v1/retrieve request.", low=1)
    max_sentences: int = arg(256, "Sentences in one /v1/retrieve request.", low=1)
    max_beam: int = arg(20, "Largest beam a caption or describe request may ask for.", low=1)
    max_samples: int = arg(100, "Most sentences a caption or describe request may ask to sample.", low=1)

    @property
    def max_upload_bytes(self) -> int:
        return int(self.max_upload_mb * 1024 * 1024)

    def budget(self) -> Limits:
        """The core readers' per-file budget for one request (``with lrcn.data.limits.using(...)``)."""
        return Limits(max_bytes=self.max_upload_bytes, max_frames=self.max_frames, max_pixels=self.max_pixels,
                      max_seconds=self.timeout)
