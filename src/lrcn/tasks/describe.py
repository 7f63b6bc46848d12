"""Video description: train the SR classifiers + CRF, then a sentence generator; evaluate; describe videos.

A run folder holds ``config.yaml``, ``vocab.json``, ``sr/`` (the SR stage: ``stage.json``, ``pca.pt``,
``checkpoints/``, ``outputs.pt``) and the generator's ``checkpoints/``. The SR stage is shared by the
four variants: ``train(..., sr_from=OTHER_RUN)`` copies OTHER_RUN/sr instead of training it again.

The generators that read the CRF (sr-encdec, crf-max, crf-prob) are trained on CRF outputs for the
training intervals computed by cross-fitting (``folds`` SR models, each predicting the fold it did not
see), so in training they meet the same kind of uncertain, sometimes wrong SR they meet at test time.
"""
from __future__ import annotations

import os
import shutil
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import lightning as L
import numpy as np
import torch
from torch.utils.data import DataLoader

from lrcn.config import from_dict, to_dict
from lrcn.data.features import FeatureCache, FeatureSpec
from lrcn.data.tacos import Interval, read_tacos
from lrcn.data.text import Vocabulary, encode_batch, tokenize
from lrcn.errors import LrcnError
from lrcn.files import atomic_path, read_json, write_json
from lrcn.models.decoding import beam_search, greedy, trim
from lrcn.models.describer import Describer, DescriberConfig
from lrcn.models.pca import Whiten
from lrcn.models.sr import SLOTS, SRConfig, SRModel
from lrcn.runs import best_checkpoint, read_run_config, write_run_config
from lrcn.training import make_trainer


@dataclass
class DescribeConfig:
    data: Path
    seed: int = 0
    features: FeatureSpec = field(default_factory=lambda: FeatureSpec(image_size=128))
    cache: Path | None = None  # feature cache root; default DATA/.features
    frames: int = 16  # frames sampled evenly from each interval
    pca_dim: int = 256
    sr: SRConfig = field(default_factory=SRConfig)
    describer: DescriberConfig = field(default_factory=DescriberConfig)
    sr_epochs: int = 30
    epochs: int = 20
    batch_size: int = 64
    lr: float = 2e-3
    folds: int = 2  # cross-fitting folds for the CRF outputs on training intervals (1 = none)
    min_count: int = 2
    max_len: int = 20
    beam: int = 1  # 1 = greedy
    workers: int = 1


# ---- data ----------------------------------------------------------------------------------------------

def frame_indices(start: int, end: int, num_frames: int, n: int) -> np.ndarray:
    """``n`` frame indices spread evenly over [start, end] (clipped to the video's ``num_frames``)."""
    end = min(end, num_frames - 1)
    return np.linspace(min(start, end), end, n).round().astype(int)


def interval_frames(cache: FeatureCache, intervals: list[Interval], n: int) -> np.ndarray:
    """(N, n, D) float16 features of each interval's sampled frames (first view)."""
    out = []
    for it in intervals:
        feats = cache.load(it.video)  # (T, V, D)
        out.append(np.asarray(feats[frame_indices(it.start, it.end, len(feats), n), 0]))
    return np.stack(out)


def load_data(cfg: DescribeConfig) -> tuple[list[Interval], np.ndarray]:
    """The intervals with an SR tuple and their frame features (N, frames, D), computing missing features."""
    intervals = [i for i in read_tacos(cfg.data, cfg.seed) if i.sr is not None]
    if not any(i.split == "train" for i in intervals):
        raise LrcnError(f"{cfg.data}: no training interval with an SR tuple")
    cache = FeatureCache(cfg.cache or Path(cfg.data) / ".features", cfg.features)
    errors = cache.build(sorted({i.video for i in intervals}), workers=cfg.workers, description="frame features")
    if errors:
        raise LrcnError(next(iter(errors.values())))
    return intervals, interval_frames(cache, intervals, cfg.frames)


def encode_labels(intervals: list[Interval], labels: list[list[str]]) -> torch.Tensor:
    """(N, K) label indices per slot; -1 for a label never seen in training."""
    index = [{name: j for j, name in enumerate(names)} for names in labels]
    return torch.tensor([[index[k].get(it.sr[s], -1) for k, s in enumerate(SLOTS)] for it in intervals])


class DescribeData(L.LightningDataModule):
    """In-memory items, batched by ``collate``; training batches shuffled (seeded by Lightning)."""

    def __init__(self, train: list, val: list, collate, batch_size: int):
        super().__init__()
        self.train, self.val, self.collate, self.batch_size = train, val, collate, batch_size

    def train_dataloader(self):
        return DataLoader(self.train, self.batch_size, shuffle=True, collate_fn=self.collate)

    def val_dataloader(self):
        return DataLoader(self.val, self.batch_size, collate_fn=self.collate)


def _stack(items):
    return tuple(torch.stack(col) for col in zip(*items))


# ---- SR stage -------------------------------------------------------------------------------------------

class SRModule(L.LightningModule):
    def __init__(self, in_dim: int, sizes: tuple[int, ...], cfg: SRConfig, lr: float):
        super().__init__()
        self.model, self.lr = SRModel(in_dim, sizes, cfg), lr

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
        return torch.optim.Adam(self.parameters(), lr=self.lr, weight_decay=1e-4)


@torch.no_grad()
def crf_outputs(model: SRModel, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """MAP labels (N, K) and concatenated marginals (N, sum n_k)."""
    model.eval()
    unary = model(z)
    labels, _ = model.crf.map(unary)
    return labels, torch.cat(model.crf.marginals(unary), dim=1)


def _fit_sr(run: Path, cfg: DescribeConfig, sizes, z, y, train_rows, val_rows, progress: bool) -> SRModel:
    L.seed_everything(cfg.seed, workers=True, verbose=False)
    module = SRModule(z.shape[-1], sizes, cfg.sr, cfg.lr)
    data = DescribeData([(z[i], y[i]) for i in train_rows], [(z[i], y[i]) for i in val_rows], _stack, cfg.batch_size)
    make_trainer(run, cfg.sr_epochs, "val/sr_slots", progress=progress).fit(module, datamodule=data)
    module.model.load_state_dict(_weights(best_checkpoint(run)))
    return module.model


def train_sr(sr_dir: Path, cfg: DescribeConfig, intervals: list[Interval], frames: np.ndarray, progress: bool) -> None:
    """Fit the PCA, the SR model + CRF, and the cross-fitted CRF outputs; everything into ``sr_dir``."""
    split = np.array([i.split for i in intervals])
    train_rows, val_rows = np.flatnonzero(split == "train"), np.flatnonzero(split == "val")
    labels = [sorted({intervals[r].sr[s] for r in train_rows}) for s in SLOTS]
    write_json(sr_dir / "stage.json", {"labels": dict(zip(SLOTS, labels)), "config": to_dict(cfg.sr)})
    rng = np.random.default_rng(cfg.seed)
    sample = frames[train_rows].reshape(-1, frames.shape[-1])
    sample = sample[rng.permutation(len(sample))[:4000]]
    pca = Whiten(frames.shape[-1], cfg.pca_dim).fit(torch.from_numpy(sample.astype(np.float32)), standardize=False,
                                                    seed=cfg.seed)
    _save(pca.state_dict(), sr_dir / "pca.pt")
    z = project(pca, frames)
    y = encode_labels(intervals, labels)
    sizes = tuple(len(names) for names in labels)
    map_labels = torch.zeros(len(intervals), len(SLOTS), dtype=torch.long)
    marginals = torch.zeros(len(intervals), sum(sizes))
    folds = np.array_split(rng.permutation(train_rows), cfg.folds) if cfg.folds > 1 else []
    for f, held in enumerate(folds):
        model = _fit_sr(sr_dir / f"fold{f}", cfg, sizes, z, y, np.setdiff1d(train_rows, held), val_rows, progress)
        map_labels[held], marginals[held] = crf_outputs(model, z[held])
    model = _fit_sr(sr_dir, cfg, sizes, z, y, train_rows, val_rows, progress)
    rest = np.flatnonzero(split != "train") if folds else np.arange(len(intervals))
    map_labels[rest], marginals[rest] = crf_outputs(model, z[rest])
    _save({"keys": _keys(intervals), "map": map_labels, "marginals": marginals}, sr_dir / "outputs.pt")


def project(pca: Whiten, frames: np.ndarray, chunk: int = 256) -> torch.Tensor:
    """(N, T, D) float16 -> (N, T, k) float32, in chunks (the float32 copy of all frames would be large)."""
    with torch.no_grad():
        return torch.cat([pca(torch.from_numpy(np.asarray(frames[i : i + chunk]))) for i in range(0, len(frames), chunk)])


def _keys(intervals: list[Interval]) -> list[str]:
    return [f"{i.video.name}:{i.start}-{i.end}" for i in intervals]


def _weights(checkpoint: Path) -> dict:
    """The ``model`` weights of a LightningModule checkpoint (our own file, so a full unpickle is safe)."""
    state = torch.load(checkpoint, map_location="cpu", weights_only=False)["state_dict"]
    return {k.removeprefix("model."): v for k, v in state.items() if k.startswith("model.")}


def _save(obj, path: Path) -> None:
    with atomic_path(path) as tmp:
        torch.save(obj, tmp)


# ---- generator stage ------------------------------------------------------------------------------------

class DescribeModule(L.LightningModule):
    def __init__(self, model: Describer, pad: int, lr: float):
        super().__init__()
        self.model, self.pad, self.lr = model, pad, lr

    def _loss(self, batch):
        x, words, targets = batch
        logits = self.model(x, words)  # (B, L, V)
        return torch.nn.functional.cross_entropy(logits.flatten(0, 1), targets.flatten(), ignore_index=self.pad)

    def training_step(self, batch, _):
        loss = self._loss(batch)
        self.log("train/loss", loss, prog_bar=True)
        return loss

    def validation_step(self, batch, _):
        self.log("val/loss", self._loss(batch), prog_bar=True)

    def configure_optimizers(self):
        return torch.optim.Adam(self.parameters(), lr=self.lr)


def generator_inputs(variant: str, z: torch.Tensor, map_labels: torch.Tensor, marginals: torch.Tensor) -> torch.Tensor:
    """What the variant's decoder is conditioned on, for every interval."""
    return {"sr-encdec": map_labels, "crf-max": map_labels, "crf-prob": marginals, "direct": z}[variant]


@contextmanager
def one_thread():
    """Small LSTMs step by step: one thread is faster than two fighting over two (busy) cores."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def train(cfg: DescribeConfig, run: str | os.PathLike, sr_from: str | os.PathLike | None = None,
          progress: bool = True) -> Path:
    """Train a describe run (SR stage unless ``sr_from`` gives one to copy, then the generator)."""
    run = Path(run)
    if sr_from is not None and not (Path(sr_from) / "sr" / "stage.json").is_file():
        raise LrcnError(f"{sr_from}: no SR stage (sr/stage.json); train a describe run without --sr first")
    run.mkdir(parents=True, exist_ok=True)
    write_run_config(run, "describe", cfg)
    intervals, frames = load_data(cfg)
    with one_thread():
        _train(cfg, run, sr_from, intervals, frames, progress)
    return run


def _train(cfg: DescribeConfig, run: Path, sr_from, intervals: list[Interval], frames: np.ndarray, progress: bool) -> None:
    if sr_from is not None:
        if Path(sr_from).resolve() != run.resolve():
            shutil.rmtree(run / "sr", ignore_errors=True)
            shutil.copytree(Path(sr_from) / "sr", run / "sr")
    else:
        train_sr(run / "sr", cfg, intervals, frames, progress)
    sr = SRStage(run / "sr")
    outputs = torch.load(run / "sr" / "outputs.pt", weights_only=False)
    if outputs["keys"] != _keys(intervals):
        raise LrcnError(f"{run / 'sr'}: its SR outputs were computed on other data than {cfg.data}")
    x = generator_inputs(cfg.describer.variant, project(sr.pca, frames), outputs["map"], outputs["marginals"])
    train_items = [i for i in intervals if i.split == "train"]
    vocab = Vocabulary.build((tokenize(s) for i in train_items for s in i.sentences), cfg.min_count)
    vocab.save(run / "vocab.json")

    def items(split: str) -> list:
        return [(x[r], tokenize(s)) for r, it in enumerate(intervals) if it.split == split for s in it.sentences]

    def collate(batch):
        words, targets = encode_batch(vocab, [t for _, t in batch], cfg.max_len)
        return torch.stack([b[0] for b in batch]), words, targets

    L.seed_everything(cfg.seed, workers=True, verbose=False)
    model = Describer(len(vocab), sr.sizes, sr.frame_dim, cfg.describer)
    module = DescribeModule(model, vocab.pad, cfg.lr)
    data = DescribeData(items("train"), items("val"), collate, cfg.batch_size)
    make_trainer(run, cfg.epochs, "val/loss", mode="min", progress=progress).fit(module, datamodule=data)


# ---- loading, evaluation, prediction ----------------------------------------------------------------------

class SRStage:
    """A trained SR stage: labels per slot, the PCA, the SR model + CRF."""

    def __init__(self, sr_dir: Path):
        stage = read_json(sr_dir / "stage.json")
        self.labels = [stage["labels"][s] for s in SLOTS]
        self.sizes = tuple(len(n) for n in self.labels)
        pca_state = torch.load(sr_dir / "pca.pt", weights_only=True)
        self.pca = Whiten(*pca_state["proj"].shape)
        self.pca.load_state_dict(pca_state)
        self.frame_dim = self.pca.proj.shape[1]  # the PCA's k
        self.model = SRModel(self.frame_dim, self.sizes, from_dict(SRConfig, stage["config"], f"{sr_dir}/stage.json"))
        self.model.load_state_dict(_weights(best_checkpoint(sr_dir)))
        self.model.eval()


def load_config(run: str | os.PathLike) -> tuple[DescribeConfig, Path]:
    task, data = read_run_config(run)
    if task != "describe":
        raise LrcnError(f"{run}: a {task} run, not a describe run")
    return from_dict(DescribeConfig, data, f"{run}/config.yaml"), Path(run)


class Predictor:
    """A trained describe run: frames (N, T, D) -> sentences and SR tuples with each slot's probability."""

    def __init__(self, run: str | os.PathLike):
        self.cfg, self.run = load_config(run)
        self.sr = SRStage(self.run / "sr")
        self.vocab = Vocabulary.load(self.run / "vocab.json")
        self.model = Describer(len(self.vocab), self.sr.sizes, self.sr.frame_dim, self.cfg.describer)
        self.model.load_state_dict(_weights(best_checkpoint(self.run)))
        self.model.eval()
        self.cache = FeatureCache(self.run / "features", self.cfg.features)

    @torch.no_grad()
    def infer(self, frames: np.ndarray) -> tuple[list[str], torch.Tensor, torch.Tensor]:
        """(N, T, D) features -> sentences, MAP SR labels (N, K), concatenated marginals (N, sum n_k)."""
        z = project(self.sr.pca, frames)
        map_labels, marginals = crf_outputs(self.sr.model, z)
        cond = self.model.condition(generator_inputs(self.cfg.describer.variant, z, map_labels, marginals))
        vocab, decoder = self.vocab, self.model.decoder
        if self.cfg.beam > 1:
            beams = beam_search(decoder, cond, vocab.bos, vocab.eos, self.cfg.beam, self.cfg.max_len)
            tokens = [b[0][0] for b in beams]
        else:
            tokens = trim(greedy(decoder, cond, vocab.bos, vocab.eos, self.cfg.max_len)[0], vocab.eos)
        return [vocab.decode(t) for t in tokens], map_labels, marginals

    def describe_frames(self, frames: np.ndarray) -> list[dict]:
        """(N, T, D) features -> [{"sentence", "sr": {slot: {"label", "prob"}}}]."""
        sentences, map_labels, marginals = self.infer(frames)
        probs = marginals.split(self.sr.sizes, dim=1)
        return [{"sentence": sentence,
                 "sr": {s: {"label": self.sr.labels[k][int(map_labels[n, k])], "prob": round(float(probs[k][n, map_labels[n, k]]), 4)}
                        for k, s in enumerate(SLOTS)}}
                for n, sentence in enumerate(sentences)]

    def predict(self, path: str | os.PathLike) -> dict:
        """Describe a whole video file: {"path", "sentence", "sr"}; LrcnError for a file that is not a video."""
        errors = self.cache.build([path], description="features")
        if errors:
            raise LrcnError(next(iter(errors.values())))
        feats = self.cache.load(path)  # (T, V, D)
        frames = np.asarray(feats[frame_indices(0, len(feats) - 1, len(feats), self.cfg.frames), 0])[None]
        return {"path": str(path), **self.describe_frames(frames)[0]}


def load_predictor(run: str | os.PathLike) -> Predictor:
    return Predictor(run)


def evaluate(run: str | os.PathLike, split: str = "test") -> dict:
    """BLEU-4, METEOR, CIDEr-D of the generated sentences and SR accuracy per slot and tuple, on ``split``."""
    from lrcn.metrics.captions import caption_scores

    predictor = Predictor(run)
    intervals, frames = load_data(predictor.cfg)
    rows = [r for r, i in enumerate(intervals) if i.split == split]
    if not rows:
        raise LrcnError(f"{predictor.cfg.data}: no {split} interval")
    with one_thread():
        sentences, pred, marginals = predictor.infer(frames[rows])
    confidence = [m.max(1).values.mean() for m in marginals.split(predictor.sr.sizes, dim=1)]  # per slot
    correct = (pred == encode_labels([intervals[r] for r in rows], predictor.sr.labels)).float()  # (N, K)
    scores = caption_scores({r: intervals[r].sentences for r in rows}, dict(zip(rows, sentences)))
    metrics = {
        "variant": predictor.cfg.describer.variant, "split": split, "intervals": len(rows), **scores,
        "sr_accuracy": {**{s: round(float(correct[:, k].mean()), 4) for k, s in enumerate(SLOTS)},
                        "tuple": round(float(correct.all(1).float().mean()), 4)},
        "sr_confidence": {s: round(float(c), 4) for s, c in zip(SLOTS, confidence)},  # mean p(MAP label)
        "examples": [{"video": str(intervals[r].video), "start": intervals[r].start, "end": intervals[r].end,
                      "sentence": sentence, "sr": {s: predictor.sr.labels[k][p[k]] for k, s in enumerate(SLOTS)},
                      "references": intervals[r].sentences} for r, sentence, p in list(zip(rows, sentences, pred.tolist()))[:8]],
    }
    write_json(predictor.run / "metrics.json", metrics)
    return metrics

