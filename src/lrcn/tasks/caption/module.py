"""The caption LightningModule: (the CNN, when fine-tuning) -> image projection -> LRCN captioner; cross-entropy
over the words, padding ignored."""
from __future__ import annotations

from torch import nn

from lrcn.tasks.caption.config import CaptionConfig
from lrcn.tasks.caption.network import build_model
from lrcn.training import TaskModule


class CaptionModule(TaskModule):
    def __init__(self, cfg: CaptionConfig, vocab_size: int, feature_dim: int, pad: int):
        super().__init__()
        self.cfg, self.train_cfg, self.pad = cfg, cfg.train, pad
        self.model = build_model(cfg, vocab_size, feature_dim)

    def _loss(self, batch):
        x, owner, inputs, targets = batch  # (B, D) or (B, 3, S, S); (Ncap,); (Ncap, L) twice
        logits = self.model.captioner(self.model.encode(x)[owner], inputs)  # (Ncap, L, V)
        return nn.functional.cross_entropy(logits.flatten(0, 1), targets.flatten(), ignore_index=self.pad)

    def training_step(self, batch, batch_idx):
        loss = self._loss(batch)
        self.log("train/loss", loss, prog_bar=True, batch_size=len(batch[1]))
        return loss

    def validation_step(self, batch, batch_idx):
        self.log("val/loss", self._loss(batch), prog_bar=True, batch_size=len(batch[1]))
