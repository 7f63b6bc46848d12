"""The activity LightningModule: a head on cached frame features, or (``--finetune``) the CNN and the head on
frames, trained with cross-entropy at every step (the label repeated)."""
from __future__ import annotations

import torch

from lrcn.device import choose_precision
from lrcn.features.extractor import embed
from lrcn.models.activity import clips_of, per_step_loss, predict_clips
from lrcn.models.pca import Whiten
from lrcn.tasks.activity.config import ActivityConfig
from lrcn.tasks.activity.data import Whitened, training_frames
from lrcn.tasks.activity.network import build_model
from lrcn.training import TaskModule


class ActivityModule(TaskModule):
    def __init__(self, cfg: ActivityConfig, classes: list[str], feature_dim: int):
        super().__init__()
        self.cfg, self.classes, self.train_cfg = cfg, classes, cfg.train
        self.model = build_model(cfg, len(classes), feature_dim)

    def train(self, mode: bool = True):
        """Fine-tuning keeps the CNN's BatchNorm layers in eval mode: their ImageNet statistics stay fixed, their
        scales and shifts train. The 16 frames of a clip are near-copies, so a batch of 24 clips holds ~24 samples
        and its statistics are noisy (worse at the small batches a CPU affords); fixed statistics also make
        training and evaluation compute the same function (TSN's "partial BN", mmaction2's ``norm_eval``)."""
        super().train(mode)
        if self.model.backbone is not None:
            for m in self.model.backbone.modules():
                if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
                    m.eval()
        return self

    def on_train_start(self) -> None:
        self.train()  # Lightning keeps the modes it finds (and restores them after validation): set ours
        if self.whitened is not None:  # on the trainer's device now, its checkpoint restored
            self.whitened.fill(self.trainer.datamodule.train_items)

    @property
    def whitened(self) -> Whitened | None:
        """The data module's whitened cache (a frozen CNN's training clips come whitened); None without one."""
        return getattr(self.trainer.datamodule, "whitened", None)

    def setup(self, stage: str) -> None:
        """Fit the input whitening on the training frames (before a resumed checkpoint restores it).

        Fine-tuning fits it once, on the pretrained CNN's cached features, and keeps it fixed while the CNN
        moves (at a tenth of the head's learning rate, slowly): the run starts exactly where a frozen run
        starts, and the head's fc6 adapts to the drift. Refitting each epoch would re-extract every frame.
        """
        whiten = self.model.head.fc6.whiten
        if stage == "fit" and isinstance(whiten, Whiten):
            dm = self.trainer.datamodule
            whiten.fit(training_frames(dm.cache, dm.train_items))
            if self.model.backbone is None:  # a frozen CNN: its training clips come whitened, each frame once
                dm.whitened = Whitened(dm.cache, whiten)

    def training_step(self, batch, batch_idx):
        clips, labels = batch  # (B, L, D) features ((B, L, k) whitened) or (B, L, 3, S, S) uint8 frames, (B,)
        logits, _ = self.model(clips, whitened=self.whitened is not None)  # (B, L, C)
        loss = per_step_loss(logits, labels)
        acc = (logits.mean(1).argmax(-1) == labels).float().mean()
        self.log("train/loss", loss, on_step=True, on_epoch=True, prog_bar=True, batch_size=len(labels))
        self.log("train/clip_acc", acc, on_step=False, on_epoch=True, batch_size=len(labels))
        return loss

    def validation_step(self, batch, batch_idx):
        clips, label = batch  # (1, N, V, L, D), (1,); fine-tuning: frames (1, T, V, 3, S, S)
        if self.model.backbone is not None:
            d = self.cfg.data
            precision = choose_precision(self.cfg.features.precision, self.device, "cnn").value
            feats = embed(self.model.backbone, clips[0], precision)  # (T, V, D)
            clips = clips_of(feats, d.clip_len, d.stride)[None]
        _, probs = predict_clips(self.model.head, clips[0])
        self.log("val/video_acc", (probs.argmax() == label[0]).float(), on_epoch=True, batch_size=1,
                 sync_dist=True, prog_bar=True)
