"""Video description commands: ``lrcn train describe``, ``lrcn eval describe``, ``lrcn describe``."""
from pathlib import Path
from typing import Optional

import typer

from lrcn.cli.answers import input_files, predict_each, print_answers
from lrcn.cli.apps import app, eval_app, train_app
from lrcn.errors import LrcnError


@train_app.command("describe")
def train_describe(
    data: Path = typer.Option(..., help="A TACoS-layout folder (videos/, alignments-text/, [splits/]), e.g. from `lrcn synth kitchen`."),
    variant: str = typer.Option("crf-prob", help="sr-encdec | crf-max | crf-prob | direct"),
    out: Path = typer.Option(..., help="Run folder to write."),
    sr: Optional[Path] = typer.Option(None, help="Reuse the SR classifiers + CRF of this describe run instead of training them."),
    seed: int = typer.Option(0),
    epochs: int = typer.Option(20, help="Epochs of the sentence generator."),
    sr_epochs: int = typer.Option(30, help="Epochs of the SR classifiers + CRF."),
    beam: int = typer.Option(1, help="Beam size at evaluation and prediction (1 = greedy)."),
    cache: Optional[Path] = typer.Option(None, help="Frame feature cache (default DATA/.features)."),
    workers: int = typer.Option(1, help="Video decoding processes."),
) -> None:
    """Train the SR classifiers + CRF (unless --sr) and one sentence generator; writes a run folder."""
    from lrcn.models.describer import VARIANTS
    from lrcn.tasks.describe import DescribeConfig, train

    if variant not in VARIANTS:
        raise LrcnError(f"--variant {variant}: choose from {', '.join(VARIANTS)}")
    cfg = DescribeConfig(data=data, seed=seed, epochs=epochs, sr_epochs=sr_epochs, beam=beam, cache=cache, workers=workers)
    cfg.describer.variant = variant
    typer.echo(f"run: {train(cfg, out, sr_from=sr)}")


@eval_app.command("describe")
def eval_describe(
    run: Path = typer.Argument(..., help="A describe run folder."),
    split: str = typer.Option("test", help="train | val | test"),
) -> None:
    """BLEU-4, METEOR, CIDEr-D and SR accuracy (per slot and whole tuple); writes RUN/metrics.json."""
    from rich.console import Console
    from rich.table import Table

    from lrcn.tasks.describe import evaluate

    m = evaluate(run, split)
    table = Table(title=f"{run} ({m['variant']}, {split}, {m['intervals']} intervals)")
    for name in ("bleu4", "meteor", "cider", *m["sr_accuracy"]):
        table.add_column(name if name in ("bleu4", "meteor", "cider") else f"SR {name}", justify="right")
    table.add_row(*(f"{m[k] * 100:.1f}" for k in ("bleu4", "meteor", "cider")),
                  *(f"{v * 100:.1f}" for v in m["sr_accuracy"].values()))
    Console().print(table)


@app.command()
def describe(
    run: Path = typer.Argument(..., help="A describe run folder."),
    videos: list[Path] = input_files("Video files (any container PyAV reads)."),
    json_lines: bool = typer.Option(False, "--json", help="JSON Lines on stdout, one object per video."),
) -> None:
    """A sentence and the SR tuple (each slot with its probability) for each video."""
    from lrcn.tasks.describe import load_predictor

    predictor = load_predictor(run)

    def human(answer: dict) -> str:
        sr = ", ".join(f"{s}={v['label']} ({v['prob']:.2f})" for s, v in answer["sr"].items())
        return f"{answer['path']}: {answer['sentence']}\n  SR: {sr}"

    print_answers(predict_each(predictor.predict, videos), json_lines, human)
