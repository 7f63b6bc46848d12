"""``lrcn export RUN OUT``: a folder anyone can ``lrcn.load`` (config.json + model.safetensors)."""
from pathlib import Path

import typer

from lrcn.cli.apps import app


@app.command()
def export(
    run: Path = typer.Argument(..., help="A trained run folder (any task)."),
    out: Path = typer.Argument(..., help="New folder to write: config.json, model.safetensors, vocab.json, README.md."),
) -> None:
    """Write a trained run as a folder that travels: no data, checkpoints or cache needed to load it elsewhere."""
    from lrcn.bundle import export as write

    typer.echo(f"export: {write(run, out)}")
