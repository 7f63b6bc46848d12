"""Run configs: dataclasses owned by the components that use them, composed per task, YAML in and out.

Keys are strict: an unknown key in a YAML file is an error naming it, not a silent default.
"""
from __future__ import annotations

import dataclasses
import os
import typing
from pathlib import Path
from typing import Any, TypeVar

import yaml

from lrcn.errors import LrcnError
from lrcn.files import write_text

C = TypeVar("C")


def to_dict(cfg: Any) -> dict:
    """A (nested) dataclass as plain YAML-able data (paths as strings)."""

    def plain(v):
        if isinstance(v, Path):
            return str(v)
        if isinstance(v, (list, tuple)):
            return [plain(x) for x in v]
        if isinstance(v, dict):
            return {k: plain(x) for k, x in v.items()}
        return v

    return {k: plain(v) for k, v in dataclasses.asdict(cfg).items()}


def from_dict(cls: type[C], data: dict, where: str = "config") -> C:
    """Build dataclass ``cls`` from ``data``, recursing into nested dataclasses; unknown keys are errors."""
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - names)
    if unknown:
        raise LrcnError(f"{where}: unknown key(s) {', '.join(unknown)} for {cls.__name__}")
    kwargs = {}
    for name, value in data.items():
        hint = hints[name]
        if dataclasses.is_dataclass(hint) and isinstance(value, dict):
            value = from_dict(hint, value, f"{where}.{name}")
        elif hint in (Path, Path | None) and value is not None:
            value = Path(value)
        elif typing.get_origin(hint) is tuple and isinstance(value, list):
            value = tuple(value)
        kwargs[name] = value
    return cls(**kwargs)


def save_yaml(path: str | os.PathLike, cfg: Any) -> None:
    write_text(path, yaml.safe_dump(to_dict(cfg) if dataclasses.is_dataclass(cfg) else cfg, sort_keys=False))


def load_yaml(path: str | os.PathLike) -> dict:
    try:
        data = yaml.safe_load(Path(path).read_text())
    except OSError as e:
        raise LrcnError(f"{path}: cannot read ({e.strerror})") from None
    except yaml.YAMLError as e:
        raise LrcnError(f"{path}: not valid YAML ({str(e).splitlines()[0]})") from None
    if not isinstance(data, dict):
        raise LrcnError(f"{path}: expected a mapping at the top level")
    return data
