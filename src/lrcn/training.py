"""The one Lightning Trainer setup every task uses: run-folder logs, atomic checkpoints, progress bar, seeding."""
from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import lightning as L
import torch
from lightning.pytorch.callbacks import ModelCheckpoint, TQDMProgressBar
from lightning.pytorch.loggers import CSVLogger, TensorBoardLogger
from lightning.pytorch.plugins.io import TorchCheckpointIO

from lrcn.files import atomic_path

# Lightning's start-up chatter (accelerators found, logger tips) is not for our users; warnings still show.
logging.getLogger("lightning.pytorch.utilities.rank_zero").setLevel(logging.WARNING)


class AtomicCheckpointIO(TorchCheckpointIO):
    """Checkpoints written to a temporary file and renamed: a crash mid-save never corrupts ``last.ckpt``."""

    def save_checkpoint(self, checkpoint: dict[str, Any], path, storage_options=None) -> None:
        with atomic_path(path) as tmp:
            torch.save(checkpoint, tmp)


def make_trainer(run: str | os.PathLike, max_epochs: int, monitor: str, mode: str = "max",
                 devices: int | str = "auto", strategy: str = "auto", progress: bool = True, **kwargs) -> L.Trainer:
    """A Trainer that writes into the run folder: ``checkpoints/{best,last}.ckpt``, ``logs/`` (TensorBoard + CSV).

    Runs unchanged under ``torchrun --nproc_per_node N`` (DDP; gloo on CPU).
    """
    run = Path(run)
    best = ModelCheckpoint(dirpath=run / "checkpoints", filename="best", monitor=monitor, mode=mode,
                           enable_version_counter=False)
    # Not ``save_last=True``: Lightning then writes last.ckpt only when best.ckpt improves, so resume went back.
    last = ModelCheckpoint(dirpath=run / "checkpoints", filename="last", monitor=None, save_top_k=1,
                           enable_version_counter=False)
    callbacks = [best, last]
    if progress:
        callbacks.append(TQDMProgressBar(refresh_rate=10))
    loggers = [CSVLogger(run, name="logs", version=""), TensorBoardLogger(run, name="logs", version="", default_hp_metric=False)]
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world > 1:  # under torchrun: one process per device, the launcher's layout
        strategy = "ddp" if strategy == "auto" else strategy
        if devices == "auto":
            devices = int(os.environ.get("LOCAL_WORLD_SIZE", world))
            kwargs.setdefault("num_nodes", world // devices)
    return L.Trainer(
        default_root_dir=run, max_epochs=max_epochs, accelerator="cpu", devices=devices, strategy=strategy,
        callbacks=callbacks, logger=loggers, plugins=[AtomicCheckpointIO()], enable_progress_bar=progress,
        enable_model_summary=False, deterministic=True, log_every_n_steps=1, **kwargs,
    )
