"""``lrcn synth <data set>``: write an embedded synthetic data set in its real format."""
from pathlib import Path
from typing import Optional

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


@synth_app.command("scenes")
def scenes(
    out: Path = typer.Option(..., help="Folder to write: images/, annotations/captions_{train,val,test}.json, dataset_scenes.json."),
    seed: int = typer.Option(0, help="Seed: the same seed writes the same images and captions."),
    train: int = typer.Option(4000, min=1, help="Training images."),
    val: int = typer.Option(500, min=0, help="Validation images."),
    test: int = typer.Option(1000, min=1, help="Test images."),
    image_size: int = typer.Option(128, min=32, help="Side of the square JPEG images, pixels."),
    workers: Optional[int] = typer.Option(None, min=1, help="Rendering processes (default: one per core)."),
) -> None:
    """Scenes of 1-3 shapes (shape, colour, size, relative position) with five varied captions each."""
    from lrcn.data.synthetic.scenes import write_scenes

    typer.echo(write_scenes(out, seed=seed, num_train=train, num_val=val, num_test=test, image_size=image_size, workers=workers))


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
