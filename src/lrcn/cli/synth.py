"""``lrcn synth <data set>``: write an embedded synthetic data set in its real format."""
from pathlib import Path

import typer

from lrcn.cli.apps import synth_app


@synth_app.command("actions")
def actions(
    out: Path = typer.Option(..., help="Folder to write (UCF101 layout: ucfTrainTestlist/ and <Class>/*.avi)."),
    seed: int = typer.Option(0, help="Seed: the same seed writes the same videos."),
    videos_per_class: int = typer.Option(64, min=1, help="Videos per class, spread over 25 groups (gXX)."),
    frames: int = typer.Option(24, min=2, help="Frames per video (25 fps)."),
) -> None:
    """Twelve actions in six time-reversed pairs, as MPEG-4 AVI files with UCF101's split lists."""
    from lrcn.data.synthetic.actions import write_actions

    typer.echo(write_actions(out, seed=seed, videos_per_class=videos_per_class, num_frames=frames))
