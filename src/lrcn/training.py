"""The one Lightning Trainer setup every task uses: run-folder logs, atomic checkpoints, progress bar, seeding."""
from __future__ import annotations

import csv
import logging
import os
import warnings
from pathlib import Path
from typing import Any

import lightning as L
import torch
from lightning.fabric.loggers.logger import rank_zero_experiment
from lightning.pytorch.callbacks import ModelCheckpoint, TQDMProgressBar
from lightning.pytorch.loggers import CSVLogger, TensorBoardLogger
from lightning.pytorch.loggers.csv_logs import ExperimentWriter
from lightning.pytorch.plugins.io import TorchCheckpointIO

from lrcn.errors import LrcnError
from lrcn.files import atomic_path

# Lightning's start-up chatter (accelerators found, logger tips) is not for our users; warnings still show.
logging.getLogger("lightning.pytorch.utilities.rank_zero").setLevel(logging.WARNING)
# Lightning 2.6 builds torch's deprecated LeafSpec on every batch; the user can do nothing about that warning.
warnings.filterwarnings("ignore", message=r"`isinstance\(treespec, LeafSpec\)` is deprecated")


class AtomicCheckpointIO(TorchCheckpointIO):
    """Checkpoints written to a temporary file and renamed: a crash mid-save never corrupts ``last.ckpt``."""

    def save_checkpoint(self, checkpoint: dict[str, Any], path, storage_options=None) -> None:
        with atomic_path(path) as tmp:
            torch.save(checkpoint, tmp)


class _AppendingWriter(ExperimentWriter):
    """Keeps the rows already in ``metrics.csv`` and appends to them (Lightning's writer deletes the file)."""

    def _check_log_dir_exists(self) -> None:
        if self._fs.isfile(self.metrics_file_path):  # new rows go under the earlier sessions' header
            with self._fs.open(self.metrics_file_path, "r", newline="") as f:
                self.metrics_keys = next(csv.reader(f), [])


class ResumedCSVLogger(CSVLogger):
    """The CSV log of a resumed run: the earlier sessions' epochs stay in ``metrics.csv`` (and in its curves)."""

    @property
    @rank_zero_experiment
    def experiment(self) -> ExperimentWriter:
        if self._experiment is None:
            self._fs.makedirs(self.root_dir, exist_ok=True)
            self._experiment = _AppendingWriter(log_dir=self.log_dir)
        return self._experiment


def checkpoint_to_resume(run: Path, resume: bool) -> Path | None:
    """``run/checkpoints/last.ckpt`` with ``--resume``; None for a new run. Refuses to train over a finished run."""
    last = run / "checkpoints" / "last.ckpt"
    if resume and not last.is_file():
        raise LrcnError(f"{run}: nothing to resume (no checkpoints/last.ckpt)")
    if not resume and last.is_file():
        raise LrcnError(f"{run}: already trained; pass --resume to continue, or choose another --out")
    return last if resume else None


def make_trainer(run: str | os.PathLike, max_epochs: int, monitor: str, mode: str = "max",
                 devices: int | str = "auto", strategy: str = "auto", progress: bool = True, resume: bool = False,
                 **kwargs) -> L.Trainer:
    """A Trainer that writes into the run folder: ``checkpoints/{best,last}.ckpt``, ``logs/`` (TensorBoard + CSV).

    With ``resume`` the CSV log is appended to, not started afresh. Runs unchanged under
    ``torchrun --nproc_per_node N`` (DDP; gloo on CPU).
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
    csv_logger = CSVLogger
    if resume:  # the checkpoint folder is full by design: only a resumed run silences Lightning's warning about it
        warnings.filterwarnings("ignore", message=r"Checkpoint directory .* exists and is not empty")
        csv_logger = ResumedCSVLogger
    loggers = [csv_logger(run, name="logs", version=""),
               TensorBoardLogger(run, name="logs", version="", default_hp_metric=False)]
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
