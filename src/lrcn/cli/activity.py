"""``lrcn train activity``, ``lrcn eval activity`` and ``lrcn classify``."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table

from lrcn.cli.answers import input_files, predict_each, print_answers
from lrcn.cli.apps import app, eval_app, train_app
from lrcn.errors import LrcnError


def parse_weights(text: str) -> tuple[float, ...]:
    try:
        return tuple(float(w) for w in text.split(","))
    except ValueError:
        raise LrcnError(f"--weights {text}: expected numbers separated by commas, e.g. 0.33,0.67") from None


@train_app.command("activity")
def train_activity(
    data: Path = typer.Option(..., help="UCF101-layout root (classInd.txt) or a folder per class of videos."),
    out: Path = typer.Option(..., help="Run folder to write."),
    split: int = typer.Option(1, help="UCF101 split (1-3)."),
    arch: str = typer.Option("lrcn", help="lrcn | single-frame"),
    modality: str = typer.Option("rgb", help="rgb | flow"),
    epochs: Optional[int] = typer.Option(None, help="Training epochs [default: 30; with --resume, the run's]."),
    seed: int = typer.Option(0, help="Seed for training."),
    resume: bool = typer.Option(False, "--resume", help="Continue OUT from its checkpoints/last.ckpt."),
    backbone: str = typer.Option("efficientnet_lite0", help="Frame CNN (efficientnet_lite0, caffenet, resnet18)."),
    pretrained: bool = typer.Option(True, "--pretrained/--no-pretrained", help="ImageNet weights for the backbone."),
    image_size: int = typer.Option(224, help="Crop size fed to the CNN."),
    hidden: int = typer.Option(256, help="LSTM units (the paper: 256 for RGB, 1024 for flow)."),
    fc6: int = typer.Option(512, help="Width of the learned projection of the CNN feature grid."),
    pca: int = typer.Option(256, help="Whiten the features onto this many principal components first (0: off)."),
    flip: bool = typer.Option(False, "--flip/--no-flip", help="Mirror training frames too (see --mirror-pair)."),
    mirror_pair: Optional[list[str]] = typer.Option(None, help="A:B classes that are each other's left-right mirror "
                                                    "(repeatable): mirrored views and crops swap them."),
    reverse_pair: Optional[list[str]] = typer.Option(None, help="A:B classes that are each other's time reversal (repeatable)."),
    batch_size: int = typer.Option(24, help="Clips per step."),
    lr: float = typer.Option(1e-3, help="AdamW learning rate."),
    finetune: bool = typer.Option(False, "--finetune", help="Train the CNN too, end to end on decoded frames "
                                  "(slow on CPU); default: a frozen CNN's cached features."),
    backbone_lr_mult: float = typer.Option(0.1, help="With --finetune: the CNN's learning rate is --lr times this."),
    workers: int = typer.Option(1, help="Decoding processes for the feature cache and, with --finetune, the clips."),
    cache: Optional[Path] = typer.Option(None, help="Feature cache [default: $LRCN_CACHE or ~/.cache/lrcn]."),
) -> None:
    """Train LRCN or the single-frame baseline on a frozen CNN's cached frame features (or end to end: --finetune)."""
    from lrcn.config import from_dict
    from lrcn.runs import read_run_config
    from lrcn.tasks.activity import ActivityConfig, DataConfig, TrainConfig, train
    from lrcn.models.activity import ActivityModelConfig

    if resume:
        _, saved = read_run_config(out)
        cfg = from_dict(ActivityConfig, saved, f"{out}/config.yaml")
        if epochs is not None:
            cfg.train.epochs = epochs
    else:
        cfg = ActivityConfig(
            DataConfig(root=data, split=split, modality=modality, backbone=backbone, pretrained=pretrained,
                       image_size=image_size, flip=flip, batch_size=batch_size, workers=workers, cache=cache),
            ActivityModelConfig(arch=arch, pca=pca, fc6=fc6, hidden=hidden),
            TrainConfig(epochs=epochs or 30, lr=lr, seed=seed, reverse_pairs=list(reverse_pair or []),
                        mirror_pairs=list(mirror_pair or []),
                        finetune=finetune, backbone_lr_mult=backbone_lr_mult),
        )
    best = train(cfg, out, resume=resume)
    typer.echo(f"checkpoint: {best}")


@eval_app.command("activity")
def eval_activity(
    run: Path = typer.Argument(..., help="A trained activity run folder."),
    crops: int = typer.Option(1, help="1 (centre crop) or 10 (corners, centre and their mirrors)."),
    fuse: Optional[Path] = typer.Option(None, help="A second run (e.g. the flow stream) to fuse with."),
    weights: str = typer.Option("0.5,0.5", help="Fusion weights RUN,FUSE (the paper: 0.5,0.5 and 0.33,0.67)."),
    cache: Optional[Path] = typer.Option(None, help="Feature cache [default: the run's]."),
) -> None:
    """Video and clip accuracy, per-class accuracy and confusion matrix on the run's test split."""
    from lrcn.tasks.activity import evaluate

    metrics = evaluate(run, crops=crops, cache=cache, fuse_run=fuse, weights=parse_weights(weights))
    table = Table(title=f"{run} (split {metrics['split']}, {metrics['classes']} classes, {crops} crop(s))")
    table.add_column("class")
    table.add_column("video acc", justify="right")
    columns = [metrics] + ([metrics["fusion"]] if "fusion" in metrics else [])
    if fuse:
        table.add_column(f"fused {weights}", justify="right")
    for name in metrics["per_class"]:
        table.add_row(name, *(_pct(m["per_class"][name]) for m in columns))
    table.add_section()
    table.add_row("video accuracy", *(_pct(m["video_acc"]) for m in columns))
    table.add_row("clip accuracy", _pct(metrics["clip_acc"]), *([""] if fuse else []))
    Console().print(table)
    if metrics["skipped"]:
        typer.echo(f"{len(metrics['skipped'])} test video(s) skipped (listed in {run}/metrics.json)", err=True)


def _pct(x) -> str:
    return "-" if x is None else f"{100 * x:.1f}"


@app.command()
def classify(
    run: Path = typer.Argument(..., help="A trained activity run folder."),
    videos: list[Path] = input_files("Video files."),
    fuse: Optional[list[Path]] = typer.Option(None, help="Another run to fuse with (e.g. the flow stream)."),
    weights: Optional[str] = typer.Option(None, help="Fusion weights, RUN first (default: equal)."),
    top_k: int = typer.Option(5, help="How many classes to list."),
    json_lines: bool = typer.Option(False, "--json", help="JSON Lines on stdout, one object per video."),
) -> None:
    """Recognise the action in each video. A video that fails gets one error line; the others still run (exit 1)."""
    from lrcn.predict import load

    predictor = load(run, fuse=fuse, weights=parse_weights(weights) if weights else None, top_k=top_k)

    def human(answer: dict) -> str:
        top = ", ".join(f"{t['label']} {t['score']:.2f}" for t in answer["top"])
        return f"{answer['path']}: {answer['label']} ({answer['score']:.2f})  [{top}]"

    print_answers(predict_each(predictor.predict, videos), json_lines, human)
