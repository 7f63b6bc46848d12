"""Command line: thin wrappers that parse, call the core, and print. One module of commands per concern."""
from __future__ import annotations

import atexit
import logging
import os
import sys
import threading
from typing import NoReturn

from rich.console import Console
from rich.markup import escape

from lrcn.errors import LrcnError

COMMAND_MODULES = ["demo", "synth", "train", "features", "activity", "caption", "describe", "export", "serve",
                   "watch", "doctor"]


def main() -> None:
    import importlib

    from lrcn.cli.apps import app

    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    for name in COMMAND_MODULES:
        importlib.import_module(f"lrcn.cli.{name}")
    try:
        app()
    except SystemExit as e:
        if e.code is not None and not isinstance(e.code, int):
            raise
        exit_now(e.code or 0)
    except KeyboardInterrupt:
        Console(stderr=True).print("interrupted")
        exit_now(130)
    except Exception as e:
        error = user_error(e)
        if error is None:  # a bug, or a library refusing this hardware: one line, its story in a file
            from lrcn.doctor import bug_line, bug_report

            error = bug_line(e, bug_report(e))
        Console(stderr=True, highlight=False).print(f"[bold red]error:[/] {escape(str(error))}", soft_wrap=True)
        exit_now(1)
    exit_now(0)


def exit_now(code: int) -> NoReturn:
    """End the process with ``code`` once the command is done, without Python's teardown of every module: with torch
    and OpenVINO loaded that teardown takes ~0.6 s, a fifth of a cold ``lrcn classify`` (bench/bench_cold_start.py).
    The steps of an exit before that teardown still happen, in the interpreter's order: the other threads are joined
    (and idle pool workers told to stop), the atexit handlers run (temporary folders, pools, logging), and the
    standard streams are flushed."""
    threading._shutdown()  # what Py_FinalizeEx calls first
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe (``lrcn ... | head``): nothing more to say to it
            pass
    os._exit(code)


def user_error(e: BaseException) -> LrcnError | None:
    """The one line for an error a user caused (an LrcnError, or a write that failed for want of space or
    permission); None for anything else, a bug (told as one line too, its traceback kept in a file). When one such error arose while handling
    another (a logger failing to flush on the full disk that stopped training), the first is the one told."""
    from lrcn.files import write_failure

    def told(x: BaseException) -> LrcnError | None:
        if isinstance(x, LrcnError):
            return x
        return write_failure(x.filename or ".", x) if isinstance(x, OSError) else None

    if told(e) is None:
        return None
    chain = []  # e, what it arose while handling, ...; not past an error that hid its context (``from None``)
    while e is not None and e not in chain:
        chain.append(e)
        e = None if e.__suppress_context__ else e.__cause__ or e.__context__
    return next(t for t in map(told, reversed(chain)) if t is not None)
