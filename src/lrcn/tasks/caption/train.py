"""``lrcn train caption``: a run folder (config.yaml, model.json, vocab.json, checkpoints/, logs/) from a config."""
from __future__ import annotations

import os
from pathlib import Path

from lrcn.device import resolve
from lrcn.files import write_text
from lrcn.runs import Run, is_rank_zero, start
from lrcn.tasks.caption.config import CaptionConfig
from lrcn.tasks.caption.data import CaptionDataModule
from lrcn.tasks.caption.module import CaptionModule
from lrcn.training import fit

VOCAB_FILE = "vocab.json"


def train(cfg: CaptionConfig, run: str | os.PathLike, *, resume: bool = False, force: bool = False,
          flags: dict | None = None, device: str = "auto", cache: Path | None = None, progress: bool = True) -> Run:
    """Train a captioner into the run folder ``run`` (see :func:`lrcn.runs.start` for the arguments)."""
    import lightning as L

    dev = resolve(device)
    with start(run, "caption", cfg, device=dev, resume=resume, force=force, flags=flags) as r:
        cfg = r.config
        data = CaptionDataModule(cfg, cache, dev)
        data.setup()
        if is_rank_zero():
            data.vocab.save(r.path / VOCAB_FILE)
            write_text(r.path / "skipped.txt", "".join(f"{line}\n" for line in data.skipped))
        r.write_info({"feature_dim": data.feature_dim, "vocab_size": len(data.vocab)})
        L.seed_everything(cfg.train.seed, workers=True, verbose=False)  # here: a warm or cold cache draws differently
        module = CaptionModule(cfg, len(data.vocab), data.feature_dim, data.vocab.pad)
        fit(r, module, data, device=dev, monitor="val/loss", mode="min", progress=progress)
        return r
