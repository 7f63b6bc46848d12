"""``lrcn demo``: the embedded end-to-end run."""
from pathlib import Path
from typing import Optional

import typer

from lrcn.cli.apps import app


@app.command()
def demo(
    out: Path = typer.Option(Path("runs/demo"), help="Folder for the data, runs, report.md and results.json."),
    quick: bool = typer.Option(False, "--quick", help="A much smaller run, for smoke tests."),
    seed: int = typer.Option(0, help="Seed for data generation, splits and training."),
    only: Optional[list[str]] = typer.Option(None, help="Run only these sections (repeatable)."),
    started_at: Optional[float] = typer.Option(None, help="Unix time the setup began (the Makefile passes it), for the timing table."),
) -> None:
    """Generate the embedded data, train and evaluate every task, write OUT/report.md and OUT/results.json."""
    from lrcn.demo import run_demo, serve_command

    report = run_demo(out, quick=quick, seed=seed, only=only, started_at=started_at)
    typer.echo(f"report: {report}")
    if serve_command(out):
        typer.echo(f"try the models in a browser: {serve_command(out)}   (then open http://127.0.0.1:8000/)")
