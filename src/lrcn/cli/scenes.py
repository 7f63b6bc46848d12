"""``lrcn synth scenes``: the embedded captioning data set (images + COCO captions JSON + Karpathy split file)."""
from pathlib import Path
from typing import Optional

import typer

from lrcn.cli.apps import synth_app


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
