"""``lrcn watch RUN SOURCE``: the running label of a video file, a file still being written, a camera or a stream.

Each frame goes through the CNN once and the LSTM's state is carried forward (:class:`OnlineStream`): nothing is
recomputed for a window of past frames. Frames are pushed ``--every N`` at a time and the running prediction is
printed after each push, until the source ends or Ctrl-C (which ends it cleanly, exit 0).
"""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Optional

import typer

from lrcn.cli.activity import parse_weights
from lrcn.cli.answers import DEVICE, JSON, load_model
from lrcn.cli.apps import app


@app.command()
def watch(
    run: Path = typer.Argument(..., help="A trained activity run folder or export."),
    source: str = typer.Argument(..., help="A video file (also one still being written), a camera (/dev/video0) "
                                           "or a stream URL (rtsp://, http://, ...)."),
    every: int = typer.Option(8, min=1, help="Frames per update: push N frames, then print the running label."),
    top_k: int = typer.Option(5, min=1, help="How many classes each update lists."),
    idle: float = typer.Option(2.0, min=0.0, help="A file still being written ends after it stops growing this long (s)."),
    fuse: Optional[list[Path]] = typer.Option(None, help="Another run to fuse with (e.g. the flow stream)."),
    weights: Optional[str] = typer.Option(None, help="Fusion weights, RUN first (default: equal)."),
    json_lines: bool = JSON,
    device: str = DEVICE,
) -> None:
    """Recognise the action in a live source as it plays: one line per update (frame index, time, top-k)."""
    from lrcn.data.live import live_frames
    from lrcn.tasks.activity.predictor import top_classes

    predictor = load_model("activity", run, device, fuse=fuse, weights=parse_weights(weights) if weights else None)
    live = predictor.stream()
    specs = [s.extractor.spec for s in predictor.streams]
    # decode at the size the CNN reads; a flow stream computes its flow on the larger frames first
    size = (specs[0].decode_size,) * 2 if all(s.source == "rgb" and s.decode_size == specs[0].decode_size
                                             for s in specs) else None
    frames, chunk, last = live_frames(source, size, idle), [], None
    try:
        for frame in frames:
            chunk.append(frame)
            if len(chunk) == every:
                last = _update(live, chunk, predictor.classes, top_k, json_lines, top_classes)
                chunk = []
        if chunk:
            last = _update(live, chunk, predictor.classes, top_k, json_lines, top_classes)
    except KeyboardInterrupt:
        typer.echo(f"stopped after {live.frames} frames", err=True)
    finally:
        frames.close()
    if last is None:
        typer.echo(f"{source}: no frame", err=True)
    elif not json_lines:
        typer.echo(f"{source}: {last['label']} ({last['score']:.2f}) after {live.frames} frames")


def _update(live, chunk: list, classes: list[str], top_k: int, json_lines: bool, top_classes) -> dict:
    import numpy as np

    probs = live.push(np.stack([f.image for f in chunk]))[-1]  # (C,): the running prediction after the chunk
    answer = {"frame": chunk[-1].index, "time": round(chunk[-1].time, 3), **top_classes(probs, classes, top_k)}
    if json_lines:
        sys.stdout.write(json.dumps(answer) + "\n")
    else:
        others = ", ".join(f"{t['label']} {t['score']:.2f}" for t in answer["top"][1:])
        sys.stdout.write(f"frame {answer['frame']:>6}  {answer['time']:8.2f} s  {answer['label']} {answer['score']:.2f}"
                         f"{'  [' + others + ']' if others else ''}\n")
    sys.stdout.flush()
    return answer
