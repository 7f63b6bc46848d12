"""The batch contract of ``classify``, ``caption`` and ``describe``: one answer per input, in input order.

An input that fails becomes ``{"path", "error"}`` and one line on stderr; the others still run; the exit
code is then 1. With ``--json`` every answer is a JSON line on stdout, otherwise a human line.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Callable, Iterable, Iterator

import typer
from rich.console import Console

from lrcn.errors import LrcnError


def input_files(help: str):
    """The batch argument: Click's own readability check would stop the whole batch at one unreadable file."""
    return typer.Argument(..., help=help, readable=False)


def predict_each(predict: Callable[[Path], dict], paths: Iterable[Path]) -> Iterator[dict]:
    """``predict(path)`` for each path; a user error becomes that path's error answer."""
    for path in paths:
        try:
            yield predict(path)
        except LrcnError as e:
            yield {"path": str(path), "error": str(e)}


def print_answers(answers: Iterable[dict], as_json: bool, human: Callable[[dict], str]) -> None:
    """Print each answer as it comes (JSON line or ``human(answer)``), errors on stderr; exit 1 if any failed."""
    err = Console(stderr=True, highlight=False)
    failed = False
    for answer in answers:
        if "error" in answer:
            failed = True
            err.print(f"[bold red]error:[/] {answer['error']}", soft_wrap=True, markup=True)
        if as_json:
            sys.stdout.write(json.dumps(answer) + "\n")
            sys.stdout.flush()
        elif "error" not in answer:
            typer.echo(human(answer))
    if failed:
        raise typer.Exit(1)
