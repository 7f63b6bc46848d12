"""``lrcn eval activity`` and ``lrcn classify``."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table

from lrcn.cli.answers import CACHE, DEVICE, JSON, answers, input_files, load_model, print_answers
from lrcn.cli.apps import app, eval_app
from lrcn.errors import LrcnError


def parse_weights(text: str) -> tuple[float, ...]:
    try:
        return tuple(float(w) for w in text.split(","))
    except ValueError:
        raise LrcnError(f"--weights {text}: expected numbers separated by commas, e.g. 0.33,0.67") from None


@eval_app.command("activity")
def eval_activity(
    run: Path = typer.Argument(..., help="A trained activity run folder."),
    crops: int = typer.Option(1, help="1 (centre crop) or 10 (corners, centre and their mirrors)."),
    fuse: Optional[Path] = typer.Option(None, help="A second run (e.g. the flow stream) to fuse with."),
    weights: str = typer.Option("0.5,0.5", help="Fusion weights RUN,FUSE (the paper: 0.5,0.5 and 0.33,0.67)."),
    cache: Optional[Path] = CACHE,
    device: str = DEVICE,
) -> None:
    """Video and clip accuracy, per-class accuracy and confusion matrix on the run's test split."""
    from lrcn.tasks.activity.evaluate import evaluate

    metrics = evaluate(run, crops=crops, cache=cache, fuse_run=fuse, weights=parse_weights(weights), device=device)
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
    run: Path = typer.Argument(..., help="A trained activity run folder or export."),
    videos: list[Path] = input_files("Video files."),
    fuse: Optional[list[Path]] = typer.Option(None, help="Another run to fuse with (e.g. the flow stream)."),
    weights: Optional[str] = typer.Option(None, help="Fusion weights, RUN first (default: equal)."),
    top_k: int = typer.Option(5, help="How many classes to list."),
    timeline: bool = typer.Option(False, "--timeline", help="With --json: the running probabilities at every frame."),
    json_lines: bool = JSON,
    device: str = DEVICE,
) -> None:
    """Recognise the action in each video. A video that fails gets one error line; the others still run (exit 1)."""
    predictor = load_model("activity", run, device, fuse=fuse, weights=parse_weights(weights) if weights else None,
                           top_k=top_k, timeline=timeline)

    def human(answer: dict) -> str:
        top = ", ".join(f"{t['label']} {t['score']:.2f}" for t in answer["top"])
        return f"{answer['path']}: {answer['label']} ({answer['score']:.2f})  [{top}]"

    print_answers(answers(predictor, videos), json_lines, human)
