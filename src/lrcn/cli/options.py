"""Command-line options generated from a config class: each field is an option, written once (``lrcn.config.arg``).

``@config_options(ActivityConfig)`` gives a Typer command one option per leaf field (``--epochs``,
``--image-size``, ``--flip/--no-flip``, a repeatable ``--mirror-pair`` for a list) next to the command's own
parameters, and passes the command ``flags``: {"train.epochs": 40, ...} for the options given, no more. The
config is then :func:`lrcn.config.resolve`-d: defaults < ``--config FILE`` < flags (LightningCLI's order).
"""
from __future__ import annotations

import functools
import inspect
from pathlib import Path
from typing import Callable, Optional

import typer

from lrcn.config import Option, options


def config_options(cls: type | list[Option]) -> Callable:
    """One option per field of the config class ``cls`` (or per given :class:`~lrcn.config.Option`)."""
    opts = cls if isinstance(cls, list) else options(cls)

    def wrap(fn: Callable) -> Callable:
        own = [p for p in inspect.signature(fn).parameters.values() if p.name != "flags"]

        @functools.wraps(fn)
        def command(**kwargs):
            flags = {}
            for i, o in enumerate(opts):
                value = kwargs.pop(_ident(i))
                if value is not None and value != []:
                    flags[o.key] = list(value) if isinstance(value, (list, tuple)) else value
            return fn(flags=flags, **kwargs)

        generated = [inspect.Parameter(_ident(i), inspect.Parameter.KEYWORD_ONLY, default=_typer_option(o),
                                       annotation=_annotation(o)) for i, o in enumerate(opts)]
        command.__signature__ = inspect.Signature(own + generated)
        return command

    return wrap


def section_options(classes: list[type], sections: tuple[str, ...]) -> list[Option]:
    """The fields of ``sections`` of several config classes, one option per flag (the first class's, for its help)."""
    merged: dict[str, Option] = {}
    for cls in classes:
        for o in options(cls):
            if o.path[0] in sections:
                merged.setdefault(o.flag, o)
    return list(merged.values())


def _ident(i: int) -> str:
    return f"config_option_{i}"


def _annotation(o: Option):
    if getattr(o.kind, "__origin__", None) is list:
        return Optional[list[str]]
    return Optional[o.kind if o.kind in (int, float, str, bool, Path) else str]


def _typer_option(o: Option):
    decls = [f"--{o.flag}/--no-{o.flag}"] if o.kind is bool else [f"--{o.flag}"]
    default = ", ".join(map(str, o.default)) if isinstance(o.default, list) else o.default
    parts = [o.help.rstrip(".") + "." if o.help else ""]
    if o.choices:
        parts.append(f"One of {', '.join(map(str, o.choices))}.")
    if o.resumable:
        parts.append("May change on --resume.")
    where = f"{o.key}; " if len(o.path) > 1 else ""  # the YAML key of a run config's field
    parts.append(f"[{where}default: {default if default not in ('', None) else 'none'}]")
    return typer.Option(None, *decls, help=" ".join(p for p in parts if p), show_default=False)
