"""The shared Trainer: a resumed run keeps its earlier log rows and refuses to train over a finished run."""
import csv

import lightning as L
import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset

from lrcn.errors import LrcnError
from lrcn.training import checkpoint_to_resume, make_trainer


class Tiny(L.LightningModule):
    def __init__(self):
        super().__init__()
        self.net = torch.nn.Linear(3, 1)

    def training_step(self, batch, _):
        x, y = batch
        loss = torch.nn.functional.mse_loss(self.net(x), y)
        self.log("train/loss", loss, on_step=False, on_epoch=True)
        return loss

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.1)

    def train_dataloader(self):
        g = torch.Generator().manual_seed(0)
        return DataLoader(TensorDataset(torch.randn(8, 3, generator=g), torch.randn(8, 1, generator=g)), batch_size=4)


def fit(run, epochs, resume):
    ckpt = checkpoint_to_resume(run, resume)
    make_trainer(run, epochs, "train/loss", mode="min", progress=False, resume=resume).fit(Tiny(), ckpt_path=ckpt)


def epochs_logged(run):
    with open(run / "logs" / "metrics.csv", newline="") as f:
        return [int(row["epoch"]) for row in csv.DictReader(f) if row["train/loss"]]


def test_resume_appends_to_the_csv_log(tmp_path):
    fit(tmp_path, 2, resume=False)
    assert epochs_logged(tmp_path) == [0, 1]
    fit(tmp_path, 4, resume=True)
    assert epochs_logged(tmp_path) == [0, 1, 2, 3]  # Lightning's own CSVLogger would leave [2, 3]


def test_resume_needs_a_last_checkpoint_and_a_new_run_needs_none(tmp_path):
    with pytest.raises(LrcnError, match="nothing to resume"):
        checkpoint_to_resume(tmp_path, resume=True)
    fit(tmp_path, 1, resume=False)
    with pytest.raises(LrcnError, match="already trained; pass --resume"):
        checkpoint_to_resume(tmp_path, resume=False)
    assert checkpoint_to_resume(tmp_path, resume=True) == tmp_path / "checkpoints" / "last.ckpt"
