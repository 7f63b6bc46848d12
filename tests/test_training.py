"""The shared Trainer: a resumed run keeps its earlier log rows."""
import csv

import lightning as L
import torch
from torch.utils.data import DataLoader, TensorDataset

from lrcn.training import make_trainer


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


def fit(root, epochs, resume):
    ckpt = root / "checkpoints" / "last.ckpt" if resume else None
    make_trainer(root, epochs=epochs, monitor="train/loss", device=torch.device("cpu"), seed=0, mode="min",
                 resume_from=ckpt, progress=False).fit(Tiny(), ckpt_path=ckpt)


def epochs_logged(root):
    with open(root / "logs" / "metrics.csv", newline="") as f:
        return [int(row["epoch"]) for row in csv.DictReader(f) if row["train/loss"]]


def test_resume_appends_to_the_csv_log(tmp_path):
    fit(tmp_path, 2, resume=False)
    assert epochs_logged(tmp_path) == [0, 1]
    fit(tmp_path, 4, resume=True)
    assert epochs_logged(tmp_path) == [0, 1, 2, 3]  # Lightning's own CSVLogger would leave [2, 3]


def test_checkpoints_hold_no_lightning_objects_so_prediction_reads_them_without_lightning(tmp_path):
    fit(tmp_path, 1, resume=False)
    ckpt = torch.load(tmp_path / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=True)
    assert "state_dict" in ckpt
