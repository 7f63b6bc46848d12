"""What makes a resumed run the same training as one never interrupted, bit for bit on a CPU.

A run killed at any moment continues from ``checkpoints/last.ckpt``, written when an epoch ended, and trains the
interrupted epoch again from its start. For the replay to match:

- the data order and each item's augmentation are functions of (seed, epoch, position) (:mod:`lrcn.data.epochs`);
- :class:`StepSeeds` seeds torch's global generator (dropout) before every training step from (seed, epoch, step,
  rank), so nothing that ran before (a loader drawing its worker seed, validation, a resume) shifts it;
- :class:`RunCSVLogger` keeps ``logs/metrics.csv`` to the epochs the checkpoint holds, each once: a resumed run drops
  the rows of the interrupted epoch (they are logged again) and a row torn by the kill; TensorBoard hides its events
  past the checkpoint's step (``purge_step``).

One window stays open: Lightning appends an epoch's training summary (``train/loss_epoch``) to the logs just after
it wrote that epoch's checkpoint; a kill in that sub-millisecond gap loses the row (the resumed run starts at the
next epoch). The weights and every other row are unaffected.
"""
from __future__ import annotations

import csv
import io
from pathlib import Path

import torch
from lightning.fabric.loggers.logger import rank_zero_experiment
from lightning.pytorch.callbacks import Callback
from lightning.pytorch.loggers import CSVLogger
from lightning.pytorch.loggers.csv_logs import ExperimentWriter

from lrcn.data.epochs import seed_of
from lrcn.files import write_text


def resume_point(checkpoint: Path) -> tuple[int, int]:
    """(epoch, global step) a run resumes at from an end-of-epoch checkpoint: the epoch trained next, the optimiser
    steps already taken."""
    ckpt = torch.load(checkpoint, map_location="cpu", weights_only=True, mmap=True)
    return int(ckpt["epoch"]) + 1, int(ckpt["global_step"])


class StepSeeds(Callback):
    """Seeds torch's global generator before each training step from (seed, epoch, step, rank)."""

    def __init__(self, seed: int):
        self.seed = seed

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx: int) -> None:
        torch.manual_seed(seed_of(self.seed, trainer.current_epoch, batch_idx, trainer.global_rank))


def complete_rows(path: Path) -> tuple[list[str], list[dict]]:
    """(header, rows) of a CSV log, without a last line torn by a kill (it has no line end)."""
    text = path.read_text() if path.is_file() else ""
    if not text.endswith("\n"):
        text = text[: text.rfind("\n") + 1]
    reader = csv.DictReader(io.StringIO(text))
    rows = list(reader)
    return list(reader.fieldnames or []), rows


def write_rows(path: Path, header: list[str], rows: list[dict]) -> None:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=header)  # "\r\n" line ends, as Lightning appends them
    writer.writeheader()
    writer.writerows(rows)
    write_text(path, out.getvalue())


class _RunWriter(ExperimentWriter):
    """``metrics.csv``: rows appended; a new column rewrites the file atomically; a resumed run first keeps only the
    complete rows of the epochs before ``resume_epoch``."""

    def __init__(self, log_dir: str, resume_epoch: int | None):
        self.resume_epoch = resume_epoch
        super().__init__(log_dir=log_dir)

    def _check_log_dir_exists(self) -> None:
        path = Path(self.metrics_file_path)
        if self.resume_epoch is None:
            path.unlink(missing_ok=True)  # a new run (a forced one is cleared already)
            return
        header, rows = complete_rows(path)
        kept = [r for r in rows if not r.get("epoch") or int(float(r["epoch"])) < self.resume_epoch]
        if header:
            write_rows(path, header, kept)
        self.metrics_keys = header

    def _rewrite_with_new_header(self, fieldnames: list[str]) -> None:
        path = Path(self.metrics_file_path)
        write_rows(path, fieldnames, complete_rows(path)[1])


class RunCSVLogger(CSVLogger):
    """Lightning's CSV log in ``ROOT/logs/metrics.csv``, kept whole across kills and resumes (see the module doc)."""

    def __init__(self, root: Path, resume_epoch: int | None = None):
        super().__init__(root, name="logs", version="")
        self.resume_epoch = resume_epoch

    @property
    @rank_zero_experiment
    def experiment(self) -> ExperimentWriter:
        if self._experiment is None:
            self._fs.makedirs(self.root_dir, exist_ok=True)
            self._experiment = _RunWriter(self.log_dir, self.resume_epoch)
        return self._experiment
