"""The paper's tasks, each a package with the same parts and the same doors:

- ``config``: the task's config (sections ``data``, ``features``, ``model``, ``train``), each field written once;
- ``data``, ``module``: its DataModule and LightningModule (training only);
- ``train``: ``train(config, run, ...)`` through the one run lifecycle (:mod:`lrcn.runs`);
- ``evaluate``: its paper metrics on a test split, into ``RUN/metrics.json``;
- ``predictor``: ``load_predictor(bundle, device, **options)`` for :func:`lrcn.load` (imports no training code).

This module and each ``config`` stay light (no Lightning): the command line reads them to build its options.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from lrcn.config import arg
from lrcn.device import PRECISIONS, Choice, choose_precision, loader_workers

TASKS = ("activity", "caption", "describe")


@dataclass
class TrainConfig:
    """What every task's training shares (each task sets its own defaults)."""

    epochs: int = arg(30, "Training epochs.", low=1, resumable=True)
    lr: float = arg(1e-3, "AdamW learning rate.", low=0)
    weight_decay: float = arg(1e-2, "AdamW weight decay.", low=0)
    grad_clip: float = arg(5.0, "Clip the gradient norm at this (0: off; the authors clip at 5-25).", low=0)
    seed: int = arg(0, "Seed of the training (initialisation, data order, augmentation).", low=0)
    precision: str = arg("auto", "Mixed precision of training (autocast; with --finetune, the CNN's too): auto (bf16 "
                         "where the hardware has it, fp16 on older GPUs, else fp32; see lrcn doctor), bf16, fp16, "
                         "fp32.", choices=PRECISIONS)
    finetune: bool = arg(False, "Train the CNN too, end to end (slow on a CPU); default: a frozen CNN's cached features.")
    backbone_lr_mult: float = arg(0.1, "With --finetune: the CNN's learning rate is --lr times this (the authors' 0.1).",
                                  low=0)


def resolved(cfg: Any, device: torch.device) -> dict[str, Choice]:
    """What a task config's ``auto`` options resolve to on ``device``, by key: the CNN's engine and precision (of the
    feature cache: a fine-tuned run's cache too is the pretrained CNN's), training's precision and the decoding
    processes."""
    return {**cfg.features.choices(device), "train.precision": choose_precision(cfg.train.precision, device, "train"),
            "data.workers": loader_workers(cfg.data.workers, device)}
