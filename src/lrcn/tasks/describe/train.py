"""``lrcn train describe``: the SR stage (unless ``--sr-from`` gives one, or a resumed run has it), then the
sentence generator, through the one run lifecycle."""
from __future__ import annotations

import os
from pathlib import Path

import torch

from lrcn.data.text import Vocabulary, encode_batch, tokenize
from lrcn.device import resolve, threads
from lrcn.errors import LrcnError
from lrcn.files import write_text
from lrcn.models.describer import generator_inputs
from lrcn.runs import Run, is_rank_zero, start
from lrcn.tasks.describe.config import DescribeConfig
from lrcn.tasks.describe.data import DescribeData, load_data
from lrcn.tasks.describe.module import DescribeModule
from lrcn.tasks.describe.network import build_model
from lrcn.tasks.describe.sr_stage import OUTPUTS, SRStage, check_sr_from, copy_sr, keys, project, train_sr
from lrcn.training import fit

VOCAB_FILE = "vocab.json"


def train(cfg: DescribeConfig, run: str | os.PathLike, *, resume: bool = False, force: bool = False,
          flags: dict | None = None, device: str = "auto", cache: Path | None = None, progress: bool = True) -> Run:
    """Train a describe run into ``run`` (see :func:`lrcn.runs.start` for the arguments)."""
    import lightning as L

    if cfg.sr.from_run is not None:
        check_sr_from(cfg.sr.from_run)
    dev = resolve(device)
    with start(run, "describe", cfg, device=dev, resume=resume, force=force, flags=flags, keep=("sr",)) as r:
        cfg = r.config
        intervals, frames, skipped = load_data(cfg, cache, dev)
        if is_rank_zero():
            write_text(r.path / "skipped.txt", "".join(f"{line}\n" for line in skipped))
        sr_dir = r.path / "sr"
        with threads(1):
            if cfg.sr.from_run is not None:
                copy_sr(cfg.sr.from_run, sr_dir)
            elif not (sr_dir / OUTPUTS).is_file():  # a resumed run keeps its finished SR stage
                train_sr(sr_dir, cfg, intervals, frames, dev, progress)
            sr = SRStage(sr_dir)
            if sr.outputs["keys"] != keys(intervals):
                raise LrcnError(f"{sr_dir}: its SR outputs were computed on other data than {cfg.data.root}")
            x = generator_inputs(cfg.model.variant, project(sr.pca, frames), sr.outputs["map"], sr.outputs["marginals"])
            train_items = [i for i in intervals if i.split == "train"]
            vocab = Vocabulary.build((tokenize(s) for i in train_items for s in i.sentences), cfg.data.min_count)
            if is_rank_zero():
                vocab.save(r.path / VOCAB_FILE)
            info = {**sr.info(), "feature_dim": frames.shape[-1], "vocab_size": len(vocab)}
            r.write_info(info)

            def items(split: str) -> list:
                return [(x[row], tokenize(s)) for row, it in enumerate(intervals) if it.split == split
                        for s in it.sentences]

            def collate(batch):
                words, targets = encode_batch(vocab, [t for _, t in batch], cfg.data.max_len)
                return torch.stack([b[0] for b in batch]), words, targets

            L.seed_everything(cfg.train.seed, workers=True, verbose=False)
            model = build_model(cfg, info)
            model.pca.load_state_dict(sr.pca.state_dict())
            model.sr.load_state_dict(sr.model.state_dict())
            module = DescribeModule(cfg, model, vocab.pad)
            data = DescribeData(items("train"), items("val"), collate, cfg.data.batch_size, cfg.train.seed)
            fit(r, module, data, device=dev, monitor="val/loss", mode="min", progress=progress)
        return r
