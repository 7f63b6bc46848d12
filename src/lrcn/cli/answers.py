"""What ``classify``, ``caption`` and ``describe`` share: the model behind ``lrcn.load``, one answer per input in input
order, printed as it comes.

An input that fails becomes ``{"path", "error"}`` and one line on stderr; the others still run; the exit code is
then 1. With ``--json`` every answer is a JSON line on stdout, otherwise a human line.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Callable, Iterable, Iterator

import typer
from rich.console import Console
from rich.markup import escape


DEVICE = typer.Option("auto", help="auto | cpu | cuda | mps.")
CACHE = typer.Option(None, help="Feature cache [default: $LRCN_CACHE or ~/.cache/lrcn].")
JSON = typer.Option(False, "--json", help="JSON Lines on stdout, one object per input ({path, error} for a bad one).")


def input_files(help: str):
    """The batch argument: Click's own readability check would stop the whole batch at one unreadable file."""
    return typer.Argument(..., help=help, readable=False)


def load_model(task: str, path: Path, device: str, **options):
    """``lrcn.load(path)``, refusing a model of another task with one line."""
    from lrcn.predict import load

    return load(path, device=device, task=task, **options)


def decoding(flags: dict):
    """The ``Decoding`` of a caption or describe command's options (``--beam``, ``--sample``, ...)."""
    from lrcn.config import resolve
    from lrcn.models.decoding import Decoding

    return resolve(Decoding, flags).check()


def answers(predictor, inputs: list[Path], chunk: int = 16) -> Iterator[dict]:
    """``predictor.predict_many`` over ``inputs`` a chunk at a time, so that answers print as they come."""
    for i in range(0, len(inputs), chunk):
        yield from predictor.predict_many([str(p) for p in inputs[i : i + chunk]])


def print_answers(answers: Iterable[dict], as_json: bool, human: Callable[[dict], str]) -> None:
    """Print each answer as it comes (JSON line or ``human(answer)``), errors on stderr; exit 1 if any failed."""
    err = Console(stderr=True, highlight=False)
    failed = False
    for answer in answers:
        if "error" in answer:
            failed = True
            err.print(f"[bold red]error:[/] {escape(answer['error'])}", soft_wrap=True, markup=True)
        if as_json:
            sys.stdout.write(json.dumps(answer) + "\n")
            sys.stdout.flush()
        elif "error" not in answer:
            typer.echo(human(answer))
    if failed:
        raise typer.Exit(1)
