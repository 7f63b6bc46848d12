"""``lrcn train activity``: a run folder from a config, through the one run lifecycle."""
from __future__ import annotations

import os
from pathlib import Path

from lrcn.device import resolve
from lrcn.runs import Run, start
from lrcn.tasks.activity.config import ActivityConfig
from lrcn.tasks.activity.data import ActivityDataModule, read_videos
from lrcn.tasks.activity.module import ActivityModule
from lrcn.training import fit


def train(cfg: ActivityConfig, run: str | os.PathLike, *, resume: bool = False, force: bool = False,
          flags: dict | None = None, device: str = "auto", cache: Path | None = None, progress: bool = True) -> Run:
    """Train into the run folder ``run`` (see :func:`lrcn.runs.start` for ``resume``, ``force`` and ``flags``)."""
    import lightning as L

    from lrcn.models.backbones import create_backbone

    dev = resolve(device)
    with start(run, "activity", cfg, device=dev, resume=resume, force=force, flags=flags) as r:
        cfg = r.config
        videos = read_videos(cfg.data)
        f = cfg.features
        feature_dim = create_backbone(f.backbone, pretrained=False, grid=f.grid).feature_dim
        r.write_info({"classes": videos.classes, "feature_dim": feature_dim})
        L.seed_everything(cfg.train.seed, workers=True, verbose=False)  # the initialisation draws from here on
        module = ActivityModule(cfg, videos.classes, feature_dim)
        datamodule = ActivityDataModule(cfg, videos, r.path, cache, dev)
        monitor, mode = ("val/video_acc", "max") if videos.val else ("train/loss_epoch", "min")
        fit(r, module, datamodule, device=dev, monitor=monitor, mode=mode, progress=progress, num_sanity_val_steps=0,
            limit_val_batches=1.0 if videos.val else 0)
        return r
