"""The SR stage of a describe run (``RUN/sr/``): the whitening PCA, the SR classifiers + chain CRF, and the CRF
outputs the generators train on (cross-fitted on the training intervals)."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import lightning as L
import numpy as np
import torch

from lrcn.bundle import model_weights
from lrcn.config import from_dict, to_dict
from lrcn.data.tacos import SLOTS, Interval
from lrcn.errors import LrcnError
from lrcn.files import atomic_path, read_json, write_json
from lrcn.models.pca import Whiten
from lrcn.models.sr import SRConfig, SRModel
from lrcn.runs import Run
from lrcn.tasks.describe.config import DescribeConfig
from lrcn.tasks.describe.data import DescribeData, encode_labels, stack
from lrcn.training import make_trainer

STAGE, PCA, OUTPUTS = "stage.json", "pca.pt", "outputs.pt"


class SRModule(L.LightningModule):
    """The SR classifiers + CRF, trained on the CRF's exact log-likelihood. Adam with an L2 penalty in the gradient
    (``weight_decay``, not AdamW's decoupled decay), as this stage was tuned."""

    def __init__(self, in_dim: int, sizes: tuple[int, ...], cfg: DescribeConfig):
        super().__init__()
        self.model, self.cfg = SRModel(in_dim, sizes, cfg.sr), cfg.sr

    def training_step(self, batch, _):
        x, y = batch
        loss = self.model.crf.nll(self.model(x), y)
        self.log("train/loss", loss, prog_bar=True)
        return loss

    def validation_step(self, batch, _):
        x, y = batch
        pred, _ = self.model.crf.map(self.model(x))
        self.log("val/sr_slots", (pred == y).float().mean(), prog_bar=True)

    def configure_optimizers(self):
        return torch.optim.Adam(self.parameters(), lr=self.cfg.lr, weight_decay=self.cfg.weight_decay)


def project(pca: Whiten, frames: np.ndarray, chunk: int = 256) -> torch.Tensor:
    """(N, T, D) float16 -> (N, T, k) float32, in chunks (the float32 copy of all frames would be large)."""
    with torch.no_grad():
        return torch.cat([pca(torch.from_numpy(np.asarray(frames[i : i + chunk]))) for i in range(0, len(frames), chunk)])


def keys(intervals: list[Interval]) -> list[str]:
    return [f"{i.video.name}:{i.start}-{i.end}" for i in intervals]


def save(obj, path: Path) -> None:
    with atomic_path(path) as tmp:
        torch.save(obj, tmp)


def fit_sr(root: Path, cfg: DescribeConfig, sizes, z, y, train_rows, val_rows, device, progress: bool) -> SRModel:
    """Train one SR model into ``root`` and return it with its best weights, in eval mode."""
    L.seed_everything(cfg.train.seed, workers=True, verbose=False)
    module = SRModule(z.shape[-1], sizes, cfg)
    data = DescribeData([(z[i], y[i]) for i in train_rows], [(z[i], y[i]) for i in val_rows], stack,
                        cfg.data.batch_size, cfg.train.seed)
    make_trainer(root, epochs=cfg.sr.epochs, monitor="val/sr_slots", device=device, seed=cfg.train.seed,
                 progress=progress).fit(
        module, datamodule=data)
    module.model.load_state_dict(model_weights(Run(root, "describe", None).checkpoint()))
    return module.model.eval().cpu()


def train_sr(sr_dir: Path, cfg: DescribeConfig, intervals: list[Interval], frames: np.ndarray, device,
             progress: bool) -> None:
    """Fit the PCA, the SR model + CRF, and the cross-fitted CRF outputs; everything into ``sr_dir``."""
    shutil.rmtree(sr_dir, ignore_errors=True)  # what a killed run left of an unfinished stage (no OUTPUTS yet)
    split = np.array([i.split for i in intervals])
    train_rows, val_rows = np.flatnonzero(split == "train"), np.flatnonzero(split == "val")
    labels = [sorted({intervals[r].sr[s] for r in train_rows}) for s in SLOTS]
    write_json(sr_dir / STAGE, {"labels": dict(zip(SLOTS, labels)), "pca": cfg.sr.pca,
                                "config": to_dict(SRConfig(cfg.sr.hidden, cfg.sr.dropout))})
    rng = np.random.default_rng(cfg.train.seed)
    sample = frames[train_rows].reshape(-1, frames.shape[-1])
    sample = sample[rng.permutation(len(sample))[:4000]]
    pca = Whiten(frames.shape[-1], cfg.sr.pca).fit(torch.from_numpy(sample.astype(np.float32)), standardize=False,
                                                   seed=cfg.train.seed)
    save(pca.state_dict(), sr_dir / PCA)
    z = project(pca, frames)
    y = encode_labels(intervals, labels)
    sizes = tuple(len(names) for names in labels)
    map_labels = torch.zeros(len(intervals), len(SLOTS), dtype=torch.long)
    marginals = torch.zeros(len(intervals), sum(sizes))
    folds = np.array_split(rng.permutation(train_rows), cfg.sr.folds) if cfg.sr.folds > 1 else []
    for f, held in enumerate(folds):
        rest = np.setdiff1d(train_rows, held)
        model = fit_sr(sr_dir / f"fold{f}", cfg, sizes, z, y, rest, val_rows, device, progress)
        map_labels[held], marginals[held] = model.outputs(z[held])
    model = fit_sr(sr_dir, cfg, sizes, z, y, train_rows, val_rows, device, progress)
    rest = np.flatnonzero(split != "train") if folds else np.arange(len(intervals))
    map_labels[rest], marginals[rest] = model.outputs(z[rest])
    save({"keys": keys(intervals), "map": map_labels, "marginals": marginals}, sr_dir / OUTPUTS)


def check_sr_from(source: Path) -> Path:
    """``--sr-from``: a describe run with a finished SR stage, or LrcnError."""
    if not (Path(source) / "sr" / OUTPUTS).is_file():
        raise LrcnError(f"{source}: no finished SR stage (sr/{OUTPUTS}); train a describe run without --sr-from first")
    return Path(source)


def copy_sr(source: Path, sr_dir: Path) -> None:
    """Reuse another describe run's SR stage (``--sr-from``)."""
    if check_sr_from(source).resolve() != sr_dir.parent.resolve():
        tmp = sr_dir.with_name(f".{sr_dir.name}.tmp")  # copied whole, then renamed: a kill never leaves half a stage
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.copytree(source / "sr", tmp)
        shutil.rmtree(sr_dir, ignore_errors=True)
        os.replace(tmp, sr_dir)


class SRStage:
    """A trained SR stage: labels per slot, the PCA, the SR model + CRF (in eval mode), and its config."""

    def __init__(self, sr_dir: Path):
        stage = read_json(sr_dir / STAGE)
        self.labels = [stage["labels"][s] for s in SLOTS]
        self.sizes = tuple(len(n) for n in self.labels)
        self.config = from_dict(SRConfig, stage["config"], f"{sr_dir / STAGE}")
        pca = torch.load(sr_dir / PCA, weights_only=True)
        self.pca = Whiten(*pca["proj"].shape)
        self.pca.load_state_dict(pca)
        self.model = SRModel(self.pca.proj.shape[1], self.sizes, self.config)
        self.model.load_state_dict(model_weights(Run(sr_dir, "describe", None).checkpoint()))
        self.model.eval()
        self.outputs = torch.load(sr_dir / OUTPUTS, weights_only=True)

    def info(self) -> dict:
        """What a describe run's model.json records of its SR stage (prediction builds the network from it)."""
        return {"labels": dict(zip(SLOTS, self.labels)), "pca": self.pca.proj.shape[1], "sr": to_dict(self.config)}

