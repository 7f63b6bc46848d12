"""Command line: thin wrappers that parse, call the core, and print. One module of commands per concern."""
from __future__ import annotations

import logging
import sys

from rich.console import Console

from lrcn.errors import LrcnError

COMMAND_MODULES = ["demo", "synth", "train", "features", "activity", "caption", "describe", "export", "serve",
                   "watch"]


def main() -> None:
    import importlib

    from lrcn.cli.apps import app

    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
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
