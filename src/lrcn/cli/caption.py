"""``lrcn train caption``, ``lrcn eval caption``, ``lrcn eval retrieval``, ``lrcn caption``."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table

from lrcn.cli.answers import input_files, print_answers
from lrcn.cli.apps import app, eval_app, train_app
from lrcn.errors import LrcnError

METRIC_NAMES = {"bleu1": "B-1", "bleu2": "B-2", "bleu3": "B-3", "bleu4": "B-4", "meteor": "METEOR", "rouge_l": "ROUGE-L",
                "cider": "CIDEr-D"}


def _decoding(beam: int, sample: int, temperature: float, length_norm: bool, seed: int):
    from lrcn.tasks.caption import Decoding

    if beam < 1 or sample < 0 or temperature <= 0:
        raise LrcnError("--beam must be >= 1, --sample >= 0, --temperature > 0")
    if sample and beam > 1:
        raise LrcnError("--beam and --sample are alternatives: give one")
    return Decoding(beam=beam, sample=sample, temperature=temperature, length_norm=length_norm, seed=seed)


BEAM = typer.Option(1, help="Beam width (1 = greedy).")
SAMPLE = typer.Option(0, help="Draw N captions and keep the most likely (the paper's best COCO setting; e.g. 100).")
TEMPERATURE = typer.Option(1.0, help="Sampling temperature: logits are divided by T.")
LENGTH_NORM = typer.Option(False, "--length-norm", help="Rank beam candidates by log-probability per word.")


@train_app.command("caption")
def train_caption(
    data: Path = typer.Option(..., help="Data folder: a Karpathy split file (dataset_*.json) wins over COCO captions_*.json files."),
    out: Path = typer.Option(..., help="Run folder to write."),
    variant: str = typer.Option("lrcn2f", help="lrcn1u | lrcn2u | lrcn2f | lrcn4f."),
    images: Optional[Path] = typer.Option(None, help="Folder the image paths are relative to (default: --data)."),
    epochs: int = typer.Option(10),
    lr: float = typer.Option(2e-3, help="Adam learning rate."),
    embed_dim: int = typer.Option(512, help="Word embedding width (paper: 1000)."),
    hidden: int = typer.Option(512, help="LSTM width (paper: 1000)."),
    image_dim: int = typer.Option(512, help="Width of the projected image feature fed at every step."),
    dropout: float = typer.Option(0.5),
    images_per_batch: int = typer.Option(20, help="Images per batch, each with all its captions."),
    min_count: int = typer.Option(5, help="Vocabulary: training words seen at least this often."),
    max_len: int = typer.Option(20, help="Words per training caption."),
    backbone: str = typer.Option("efficientnet_lite0"),
    pretrained: bool = typer.Option(True, "--pretrained/--no-pretrained"),
    image_size: int = typer.Option(224, help="CNN input size (centre crop)."),
    finetune: bool = typer.Option(False, "--finetune", help="Train the CNN too (slow on CPU); default: frozen CNN on cached features."),
    cache: Path = typer.Option(Path(".cache/features"), help="Feature cache folder."),
    workers: int = typer.Option(1, help="Image-decoding worker processes."),
    seed: int = typer.Option(0),
    resume: bool = typer.Option(False, "--resume", help="Continue from OUT/checkpoints/last.ckpt."),
) -> None:
    """Train an LRCN captioner on a captioning data folder."""
    from lrcn.tasks.caption import (CaptionConfig, CaptionDataConfig, CaptionModelConfig, CaptionTrainConfig,
                                    train)

    cfg = CaptionConfig(
        data=CaptionDataConfig(root=data, images=images, backbone=backbone, pretrained=pretrained,
                               image_size=image_size, min_count=min_count, max_len=max_len,
                               images_per_batch=images_per_batch, workers=workers),
        model=CaptionModelConfig(variant=variant, embed_dim=embed_dim, hidden=hidden, image_dim=image_dim,
                                 dropout=dropout),
        train=CaptionTrainConfig(epochs=epochs, lr=lr, finetune=finetune, seed=seed),
        cache=cache,
    )
    run = train(cfg, out, resume=resume)
    typer.echo(f"run: {run}")


@eval_app.command("caption")
def eval_caption(
    runs: list[Path] = typer.Argument(..., help="Caption run folders (several: one table, one start of the Java scorers)."),
    split: str = typer.Option("test"),
    beam: int = BEAM,
    sample: int = SAMPLE,
    temperature: float = TEMPERATURE,
    length_norm: bool = LENGTH_NORM,
    limit: Optional[int] = typer.Option(None, help="Only the first N images of the split."),
    seed: int = typer.Option(0, help="Sampling seed."),
) -> None:
    """BLEU-1..4, METEOR, ROUGE-L, CIDEr-D of each run and of the nearest-neighbour baseline -> RUN/metrics.json, RUN/gallery.png."""
    from lrcn.tasks.caption_eval import evaluate_captions

    scores = evaluate_captions(runs, split, _decoding(beam, sample, temperature, length_norm, seed), limit)
    table = Table(title=f"{split} split, {scores['nearest_neighbour']['images']} images (scores x 100, B = BLEU)")
    table.add_column("model")
    for name in METRIC_NAMES.values():
        table.add_column(name, justify="right")
    for row, result in scores.items():
        name = "NN baseline" if row == "nearest_neighbour" else Path(row).name
        table.add_row(name, *(f"{100 * result[k]:.1f}" for k in METRIC_NAMES))
    Console().print(table)
    for run in runs:
        typer.echo(f"metrics: {run / 'metrics.json'}  gallery: {run / 'gallery.png'}")


@eval_app.command("retrieval")
def eval_retrieval(
    run: Path = typer.Argument(..., help="A caption run folder."),
    split: str = typer.Option("test"),
    limit: Optional[int] = typer.Option(None, help="Only the first N images of the split (and their captions)."),
    precision: str = typer.Option("bf16", help="bf16 (fast) or fp32 matrix products when scoring pairs."),
) -> None:
    """Image annotation and image search by log p(caption | image), normalised as the authors: R@1/5/10, median rank."""
    from lrcn.tasks.caption_eval import evaluate_retrieval

    if precision not in ("bf16", "fp32"):
        raise LrcnError(f"--precision {precision}: choose bf16 or fp32")
    result = evaluate_retrieval(run, split, limit, precision)
    table = Table(title=f"{run} — {split} split, {result['images']} images x {result['captions']} captions "
                        f"({result['score_seconds']:.0f} s)")
    for col in ("task", "model", "R@1", "R@5", "R@10", "Med r"):
        table.add_column(col, justify="left" if col in ("task", "model") else "right")
    for task in ("annotation", "search"):
        for model, scores in (("LRCN", result[task]), ("feature similarity", result["baseline"][task])):
            table.add_row(task, model, *(f"{scores[k]:.1f}" for k in ("r1", "r5", "r10")), f"{scores['medr']:g}")
    Console().print(table)


@app.command()
def caption(
    run: Path = typer.Argument(..., help="A caption run folder."),
    images: list[Path] = input_files("Image files."),
    beam: int = BEAM,
    sample: int = SAMPLE,
    temperature: float = TEMPERATURE,
    length_norm: bool = LENGTH_NORM,
    seed: int = typer.Option(0, help="Sampling seed."),
    as_json: bool = typer.Option(False, "--json", help="JSON Lines on stdout: {path, caption, logprob} or {path, error}."),
) -> None:
    """Caption images. A bad image gets one error line; the others still run; the exit code is then 1."""
    from lrcn.tasks.caption import CaptionPredictor

    predictor = CaptionPredictor(run, _decoding(beam, sample, temperature, length_norm, seed))
    print_answers(predictor.predict_many(images), as_json, lambda answer: f"{answer['path']}: {answer['caption']}")
