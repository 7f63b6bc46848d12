"""Video description commands: ``lrcn synth kitchen``, ``lrcn train describe``, ``lrcn eval describe``, ``lrcn describe``."""
from pathlib import Path

import typer

from lrcn.cli.apps import synth_app


@synth_app.command("kitchen")
def synth_kitchen(
    out: Path = typer.Option(..., help="Folder to write videos/, alignments-text/ and splits/ into (TACoS layout)."),
    seed: int = typer.Option(0, help="Seed for the scenes, the held-out SR tuples and the splits."),
    sessions: int = typer.Option(200, help="Number of session videos."),
    workers: int = typer.Option(2, help="Processes rendering sessions."),
) -> None:
    """Write the synthetic kitchen set: sessions of intervals with SR tuples and 2-5 sentences each."""
    from lrcn.data.synthetic.kitchen import KitchenConfig, write_kitchen

    write_kitchen(out, seed=seed, cfg=KitchenConfig(sessions=sessions), workers=workers)
    typer.echo(f"kitchen: {out}")
