"""``lrcn eval caption``, ``lrcn eval retrieval``, ``lrcn caption``."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table

from lrcn.cli.answers import CACHE, DEVICE, JSON, answers, decoding, input_files, load_model, print_answers
from lrcn.cli.apps import app, eval_app
from lrcn.cli.options import config_options
from lrcn.models.decoding import Decoding

METRIC_NAMES = {"bleu1": "B-1", "bleu2": "B-2", "bleu3": "B-3", "bleu4": "B-4", "meteor": "METEOR", "rouge_l": "ROUGE-L",
                "cider": "CIDEr-D"}


@eval_app.command("caption")
@config_options(Decoding)
def eval_caption(
    flags: dict,
    runs: list[Path] = typer.Argument(..., help="Caption run folders (several: one table, one start of the Java scorers)."),
    split: str = typer.Option("test"),
    limit: Optional[int] = typer.Option(None, help="Only the first N images of the split."),
    cache: Optional[Path] = CACHE,
    device: str = DEVICE,
) -> None:
    """BLEU-1..4, METEOR, ROUGE-L, CIDEr-D of each run and of the nearest-neighbour baseline -> RUN/metrics.json, RUN/gallery.png."""
    from lrcn.tasks.caption.evaluate import evaluate_captions

    scores = evaluate_captions(runs, split, decoding(flags), limit, cache=cache, device=device)
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
    precision: str = typer.Option(
        "auto", help="auto, int8, bf16 or fp32 matrix products when scoring pairs (auto: int8 where the CPU has int8 "
        "dot products, else bf16 where the device has bf16, else fp32; lrcn doctor says which)."),
    cache: Optional[Path] = CACHE,
    device: str = DEVICE,
) -> None:
    """Image annotation and image search by log p(caption | image), normalised as the authors: R@1/5/10, median rank."""
    from lrcn.tasks.caption.retrieval import evaluate_retrieval

    result = evaluate_retrieval(run, split, limit, precision, cache=cache, device=device)
    table = Table(title=f"{run} — {split} split, {result['images']} images x {result['captions']} captions "
                        f"({result['score_seconds']:.0f} s)")
    for col in ("task", "model", "R@1", "R@5", "R@10", "Med r"):
        table.add_column(col, justify="left" if col in ("task", "model") else "right")
    for task in ("annotation", "search"):
        for model, scores in (("LRCN", result[task]), ("feature similarity", result["baseline"][task])):
            table.add_row(task, model, *(f"{scores[k]:.1f}" for k in ("r1", "r5", "r10")), f"{scores['medr']:g}")
    Console().print(table)


@app.command()
@config_options(Decoding)
def caption(
    flags: dict,
    run: Path = typer.Argument(..., help="A caption run folder or export."),
    images: list[Path] = input_files("Image files."),
    as_json: bool = JSON,
    device: str = DEVICE,
) -> None:
    """Caption images. A bad image gets one error line; the others still run; the exit code is then 1."""
    predictor = load_model("caption", run, device, **vars(decoding(flags)))
    print_answers(answers(predictor, images), as_json, lambda answer: f"{answer['path']}: {answer['caption']}")
