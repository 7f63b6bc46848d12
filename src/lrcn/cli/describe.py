"""``lrcn eval describe`` and ``lrcn describe``."""
from pathlib import Path
from typing import Optional

import typer

from lrcn.cli.answers import CACHE, DEVICE, JSON, answers, decoding, input_files, load_model, print_answers
from lrcn.cli.apps import app, eval_app
from lrcn.cli.options import config_options
from lrcn.models.decoding import Decoding


@eval_app.command("describe")
@config_options(Decoding)
def eval_describe(
    flags: dict,
    run: Path = typer.Argument(..., help="A describe run folder."),
    split: str = typer.Option("test", help="train | val | test"),
    cache: Optional[Path] = CACHE,
    device: str = DEVICE,
) -> None:
    """BLEU-4, METEOR, CIDEr-D and SR accuracy (per slot and whole tuple); writes RUN/metrics.json."""
    from rich.console import Console
    from rich.table import Table

    from lrcn.tasks.describe.evaluate import evaluate

    m = evaluate(run, split, decoding(flags), cache=cache, device=device)
    table = Table(title=f"{run} ({m['variant']}, {split}, {m['intervals']} intervals)")
    for name in ("bleu4", "meteor", "cider", *m["sr_accuracy"]):
        table.add_column(name if name in ("bleu4", "meteor", "cider") else f"SR {name}", justify="right")
    table.add_row(*(f"{m[k] * 100:.1f}" for k in ("bleu4", "meteor", "cider")),
                  *(f"{v * 100:.1f}" for v in m["sr_accuracy"].values()))
    Console().print(table)


@app.command()
@config_options(Decoding)
def describe(
    flags: dict,
    run: Path = typer.Argument(..., help="A describe run folder or export."),
    videos: list[Path] = input_files("Video files (any container PyAV reads)."),
    json_lines: bool = JSON,
    device: str = DEVICE,
) -> None:
    """A sentence and the SR tuple (each slot with its probability) for each video."""
    predictor = load_model("describe", run, device, **vars(decoding(flags)))

    def human(answer: dict) -> str:
        sr = ", ".join(f"{s}={v['label']} ({v['prob']:.2f})" for s, v in answer["sr"].items())
        return f"{answer['path']}: {answer['sentence']}\n  SR: {sr}"

    print_answers(answers(predictor, videos), json_lines, human)
