"""The generator stage of a describe run: the sentence LSTM trained on the SR stage's outputs (the whole network,
PCA and SR model + CRF included and frozen, is the run's ``model``, so its checkpoint is all prediction needs)."""
from __future__ import annotations

import torch

from lrcn.models.describer import DescribeNet
from lrcn.tasks.describe.config import DescribeConfig
from lrcn.training import TaskModule


class DescribeModule(TaskModule):
    def __init__(self, cfg: DescribeConfig, model: DescribeNet, pad: int):
        super().__init__()
        self.cfg, self.train_cfg, self.model, self.pad = cfg, cfg.train, model, pad
        self.model.pca.requires_grad_(False)
        self.model.sr.requires_grad_(False)

    def _loss(self, batch):
        x, words, targets = batch  # the generator's input (B, ...), words and targets (B, L)
        logits = self.model.describer(x, words)  # (B, L, V)
        return torch.nn.functional.cross_entropy(logits.flatten(0, 1), targets.flatten(), ignore_index=self.pad)

    def training_step(self, batch, _):
        loss = self._loss(batch)
        self.log("train/loss", loss, prog_bar=True)
        return loss

    def validation_step(self, batch, _):
        self.log("val/loss", self._loss(batch), prog_bar=True)
