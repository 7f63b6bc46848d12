"""What every task's training shares: the LightningModule base (optimiser, the network at ``self.model``) and the
one Trainer setup (run-folder logs, atomic checkpoints, device, precision, DDP under torchrun, a Rich bar)."""
from __future__ import annotations

import logging
import os
import warnings
from pathlib import Path
from typing import Any

import lightning as L
import torch
from lightning.pytorch.callbacks import ModelCheckpoint, RichProgressBar
from lightning.pytorch.loggers import TensorBoardLogger
from lightning.pytorch.plugins.io import TorchCheckpointIO

from lrcn.device import accelerator, choose_precision, lightning_precision
from lrcn.files import atomic_path
from lrcn.replay import RunCSVLogger, StepSeeds, resume_point
from lrcn.runs import Run
from lrcn.tasks import TrainConfig

GPU_LOG_EVERY = 25  # steps between the reads of the logged metrics (the logs' rows, the bar) on a GPU; 1 on a CPU
# Lightning's start-up chatter (accelerators found, logger tips) is not for our users; warnings still show.
logging.getLogger("lightning.pytorch.utilities.rank_zero").setLevel(logging.WARNING)
# Lightning 2.6 builds torch's deprecated LeafSpec on every batch; the user can do nothing about that warning.
warnings.filterwarnings("ignore", message=r"`isinstance\(treespec, LeafSpec\)` is deprecated")


class TaskModule(L.LightningModule):
    """A task's LightningModule: the network prediction loads is ``self.model`` (its weights are the checkpoint's
    ``model.*``); AdamW over it, the CNN (``self.model.backbone``, when fine-tuned) at ``lr x backbone_lr_mult``."""

    model: torch.nn.Module
    train_cfg: TrainConfig

    def trainable(self) -> list[torch.nn.Parameter]:
        """The parameters the optimiser moves, the CNN's left out (they get their own group)."""
        backbone = set(map(id, self.backbone_parameters()))
        return [p for p in self.model.parameters() if p.requires_grad and id(p) not in backbone]

    def backbone_parameters(self) -> list[torch.nn.Parameter]:
        backbone = getattr(self.model, "backbone", None)
        return [] if backbone is None else list(backbone.parameters())

    def configure_optimizers(self):
        t = self.train_cfg
        groups = [{"params": self.trainable()}]
        if self.backbone_parameters():
            groups.append({"params": self.backbone_parameters(), "lr": t.lr * t.backbone_lr_mult})
        return torch.optim.AdamW(groups, lr=t.lr, weight_decay=t.weight_decay)


class AtomicCheckpointIO(TorchCheckpointIO):
    """Checkpoints written to a temporary file and renamed: a crash mid-save never corrupts ``last.ckpt``; a full disk
    is one :class:`~lrcn.errors.WriteError` line (torch reports it through a file object we open, not its own)."""

    def save_checkpoint(self, checkpoint: dict[str, Any], path, storage_options=None) -> None:
        with atomic_path(path, needed=tensor_bytes(checkpoint)) as tmp, open(tmp, "wb") as f:
            torch.save(checkpoint, f)


class Bar(RichProgressBar):
    """Lightning's Rich bar, moved (and its logged metrics read) every ``every`` training steps: reading a GPU tensor
    waits for the GPU, so on one the steps run ahead between reads."""

    def __init__(self, every: int = 1):
        super().__init__(leave=True)
        self.every = every

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx: int) -> None:
        if (batch_idx + 1) % self.every == 0 or batch_idx + 1 == self.total_train_batches:
            super().on_train_batch_end(trainer, pl_module, outputs, batch, batch_idx)


def tensor_bytes(obj: Any) -> int:
    """The bytes of the tensors in a nested checkpoint: about what saving it needs."""
    if isinstance(obj, torch.Tensor):
        return obj.numel() * obj.element_size()
    if isinstance(obj, dict):
        return sum(tensor_bytes(v) for v in obj.values())
    if isinstance(obj, (list, tuple)):
        return sum(tensor_bytes(v) for v in obj)
    return 0


def launch_layout() -> tuple[int, int]:
    """(processes in the job, processes per node) as the launcher set them: torchrun's WORLD_SIZE and
    LOCAL_WORLD_SIZE, or, under ``srun`` (Lightning's SLURM support), SLURM_NTASKS and SLURM_NTASKS_PER_NODE."""
    if "WORLD_SIZE" in os.environ:
        world = int(os.environ["WORLD_SIZE"])
        return world, int(os.environ.get("LOCAL_WORLD_SIZE", world))
    from lightning.fabric.plugins.environments import SLURMEnvironment

    if SLURMEnvironment.detect():
        world = int(os.environ["SLURM_NTASKS"])
        per_node = os.environ.get("SLURM_NTASKS_PER_NODE", str(world)).split("(")[0].split(",")[0]  # "2(x3)" -> 2
        return world, int(per_node)
    return 1, 1


def make_trainer(root: Path, *, epochs: int, monitor: str, device: torch.device, seed: int, mode: str = "max",
                 resume_from: Path | None = None, precision: str = "fp32", grad_clip: float = 0.0,
                 progress: bool = True, **kwargs) -> L.Trainer:
    """A Trainer writing into ``root`` (a run folder, or a stage of one): ``checkpoints/{best,last}.ckpt``, ``logs/``
    (TensorBoard + CSV), seeded so that a run resumed from ``resume_from`` trains as if never stopped
    (:mod:`lrcn.replay`).

    Runs unchanged under ``torchrun --nproc_per_node N`` or SLURM's ``srun`` (DDP: gloo on CPU, NCCL on GPUs), one
    process per device.
    """
    best = ModelCheckpoint(dirpath=root / "checkpoints", filename="best", monitor=monitor, mode=mode,
                           enable_version_counter=False)
    # Not ``save_last=True``: Lightning then writes last.ckpt only when best.ckpt improves, so resume went back.
    last = ModelCheckpoint(dirpath=root / "checkpoints", filename="last", monitor=None, save_top_k=1,
                           enable_version_counter=False)
    callbacks: list = [best, last, StepSeeds(seed)]
    every = 1 if device.type == "cpu" else GPU_LOG_EVERY  # each read of the logged metrics waits for a GPU
    if progress:
        callbacks.append(Bar(every))
    resume_epoch, resume_step = resume_point(resume_from) if resume_from is not None else (None, None)
    if resume_from is not None:  # the checkpoint folder is full by design: only then silence Lightning's warning
        warnings.filterwarnings("ignore", message=r"Checkpoint directory .* exists and is not empty")
    loggers = [RunCSVLogger(root, resume_epoch),
               TensorBoardLogger(root, name="logs", version="", default_hp_metric=False, purge_step=resume_step)]
    devices, strategy = "auto", "auto"
    world, per_node = launch_layout()
    if world > 1:  # under torchrun or srun: one process per device, the launcher's layout
        strategy = "ddp"
        devices = per_node
        kwargs.setdefault("num_nodes", world // per_node)
    elif device.type != "cpu":
        devices = [device.index] if device.index is not None else 1
    return L.Trainer(
        default_root_dir=root, max_epochs=epochs, accelerator=accelerator(device), devices=devices, strategy=strategy,
        precision=lightning_precision(precision), gradient_clip_val=grad_clip or None, callbacks=callbacks,
        logger=loggers, plugins=[AtomicCheckpointIO()], enable_progress_bar=progress, enable_model_summary=False,
        # bit-exact on the CPU; on a GPU some kernels (adaptive pooling's backward, ...) have no deterministic version
        deterministic=True if device.type == "cpu" else "warn", log_every_n_steps=every, **kwargs,
    )


def fit(run: Run, module: L.LightningModule, datamodule: L.LightningDataModule, *, device: torch.device, monitor: str,
        mode: str = "max", progress: bool = True, **kwargs) -> None:
    """Train a task's module on its data into ``run`` (continuing ``run.resume_from``), as its ``train`` config says."""
    t = run.config.train
    precision = choose_precision(t.precision, device, "train").value
    trainer = make_trainer(run.path, epochs=t.epochs, monitor=monitor, device=device, seed=t.seed, mode=mode,
                           resume_from=run.resume_from, precision=precision, grad_clip=t.grad_clip,
                           progress=progress, **kwargs)
    trainer.fit(module, datamodule=datamodule, ckpt_path=run.resume_from)
