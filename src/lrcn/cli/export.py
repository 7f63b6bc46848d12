"""``lrcn export RUN OUT [--format safetensors|onnx|both]``: a folder anyone can ``lrcn.load`` (config.json +
model.safetensors), ONNX graphs for runtimes without Python (cnn.onnx, step.onnx; encode.onnx), or both in one folder."""
from pathlib import Path
from typing import Optional

import typer

from lrcn.cli.apps import app


@app.command()
def export(
    run: Path = typer.Argument(..., help="A trained run folder (any task; --format onnx: any but a flow stream)."),
    out: Path = typer.Argument(..., help="New folder to write: config.json, README.md, the payload (model.safetensors; "
                               "*.onnx), vocab.json."),
    format: str = typer.Option("safetensors", "--format", help="safetensors (for lrcn.load), onnx (cnn.onnx, step.onnx "
                               "and describe's encode.onnx, for ONNX Runtime, OpenVINO, TensorRT: docs/onnx.md) or "
                               "both."),
    sample: Optional[Path] = typer.Option(None, help="With onnx: the video or image the graphs are checked on against "
                                          "the PyTorch model [default: an embedded synthetic one]."),
) -> None:
    """Write a trained run as a folder that travels: no data, checkpoints or cache needed to load it elsewhere."""
    from lrcn.bundle import export as write
    from lrcn.files import read_json

    folder = write(run, out, format, sample)
    typer.echo(f"export: {folder}")
    onnx = read_json(folder / "config.json").get("onnx")
    if onnx:
        p = onnx["parity"]
        typer.echo(f"onnx: {', '.join(g['file'] for g in onnx['graphs'].values())} (opset {onnx['opset']}, fp32); "
                   f"parity on {p['on']}: max |Δp| {p['max_abs_dprob']:.2g} over {p['probabilities']} probabilities "
                   f"({p['runtime']} against {p['reference']}; refused above {p['tolerance']:g})")
