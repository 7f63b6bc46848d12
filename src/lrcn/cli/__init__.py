"""Command line: thin wrappers that parse, call a task, and print. Each task's commands live in its own module."""
from __future__ import annotations

import sys

from rich.console import Console

from lrcn.errors import LrcnError

COMMAND_MODULES = ["demo", "synth", "activity", "caption", "describe"]


def main() -> None:
    import importlib

    from lrcn.cli.apps import app

    for name in COMMAND_MODULES:
        importlib.import_module(f"lrcn.cli.{name}")
    try:
        app()
    except LrcnError as e:
        Console(stderr=True, highlight=False).print(f"[bold red]error:[/] {e}", soft_wrap=True)
        sys.exit(1)
    except KeyboardInterrupt:
        Console(stderr=True).print("interrupted")
        sys.exit(130)
