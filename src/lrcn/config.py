"""Run configs: dataclasses owned by the components that use them, composed per task, YAML in and out.

A field is written once, with its help text: ``epochs: int = arg(30, "Training epochs.")``. From that one
line come the YAML key (``train.epochs``), the default, the command-line option (``--epochs``, see
:mod:`lrcn.cli.options`) and its check (``choices``). A section (``section(TrainConfig, lr=2e-3)``) nests a
component's config with the task's own defaults; its fields may carry a flag prefix (``--sr-epochs``).

Keys are strict: an unknown key in a YAML file is an error naming it, not a silent default. A config is
resolved as defaults < ``--config FILE`` < flags; a resumed run keeps its saved config and takes only the
fields marked ``resumable`` (e.g. more epochs) from the flags.
"""
from __future__ import annotations

import dataclasses
import math
import os
import types
import typing
from dataclasses import MISSING, dataclass, field
from pathlib import Path
from typing import Any, Iterator, TypeVar

import yaml

from lrcn.errors import LrcnError
from lrcn.files import read_text, write_text

C = TypeVar("C")


def arg(default: Any = MISSING, help: str = "", *, factory=None, flag: str | None = None,
        choices: tuple | None = None, low: float | None = None, high: float | None = None, resumable: bool = False):
    """A config field with its help text. ``flag``: the option's name if not the field's; ``choices``: the allowed
    values; ``low``/``high``: the allowed range (inclusive); ``resumable``: may change when a run is resumed."""
    metadata = {"help": help, "flag": flag, "choices": choices, "low": low, "high": high, "resumable": resumable}
    if factory is not None:
        return field(default_factory=factory, metadata=metadata)
    return field(default=default, metadata=metadata)


def section(cls: type, prefix: str = "", **defaults):
    """A nested config section, built with the task's own ``defaults``; its flags get ``prefix``."""
    return field(default_factory=lambda: cls(**defaults), metadata={"prefix": prefix})


@dataclass(frozen=True)
class Option:
    """One leaf field of a config tree, as the command line sees it."""

    path: tuple[str, ...]  # ("train", "epochs")
    flag: str  # "epochs" -> --epochs
    kind: Any  # the field's type with None stripped: int, float, str, bool, Path, list[str]
    default: Any
    help: str
    choices: tuple | None
    low: float | None
    high: float | None
    resumable: bool

    @property
    def key(self) -> str:
        return ".".join(self.path)


def options(cls: type) -> list[Option]:
    """Every leaf field of the config class ``cls`` (defaults from ``cls()``); flags must be unique."""
    out = list(_walk(cls, cls(), (), ""))
    seen: dict[str, str] = {}
    for o in out:
        if o.flag in seen:
            raise ValueError(f"{cls.__name__}: --{o.flag} names both {seen[o.flag]} and {o.key}")
        seen[o.flag] = o.key
    return out


def _walk(cls: type, value: Any, path: tuple[str, ...], prefix: str) -> Iterator[Option]:
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        hint, current = hints[f.name], getattr(value, f.name)
        if dataclasses.is_dataclass(hint):
            yield from _walk(hint, current, (*path, f.name), prefix + f.metadata.get("prefix", ""))
            continue
        flag = prefix + (f.metadata.get("flag") or f.name.replace("_", "-"))
        m = f.metadata
        yield Option((*path, f.name), flag, _strip_none(hint), current, m.get("help", ""), m.get("choices"),
                     m.get("low"), m.get("high"), m.get("resumable", False))


def _strip_none(hint: Any) -> Any:
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        return args[0] if len(args) == 1 else hint
    return hint


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
    """Build dataclass ``cls`` from ``data`` over ``cls()``'s defaults, recursing into sections; unknown keys and
    values of the wrong type are errors naming them."""
    if not isinstance(data, dict):
        raise LrcnError(f"{where}: expected a mapping, got {type(data).__name__}")
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(map(repr, set(data) - names))
    if unknown:
        raise LrcnError(f"{where}: unknown key(s) {', '.join(unknown)} for {cls.__name__}")
    base = cls()
    kwargs = {}
    for name in names:
        hint = hints[name]
        if name not in data:
            kwargs[name] = getattr(base, name)
        elif dataclasses.is_dataclass(hint):
            merged = {**to_dict(getattr(base, name)), **(data[name] or {})} if isinstance(data[name], dict) else data[name]
            kwargs[name] = from_dict(hint, merged, f"{where}.{name}")
        else:
            kwargs[name] = _coerce(data[name], hint, f"{where}.{name}")
    return cls(**kwargs)


def _coerce(value: Any, hint: Any, where: str) -> Any:
    """``value`` (from YAML or a flag) as the field's type, or LrcnError naming the key."""
    kind = _strip_none(hint)
    if value is None:
        if kind is not hint:  # Optional
            return None
        raise LrcnError(f"{where}: must not be empty")
    if kind is Path:
        if isinstance(value, (str, Path)):
            return Path(value)
    elif kind is bool:
        if isinstance(value, bool):
            return value
    elif kind is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
            return float(value)
    elif kind is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif kind is str:
        if isinstance(value, str):
            return value
    elif typing.get_origin(kind) is list:
        (item,) = typing.get_args(kind)
        if isinstance(value, (list, tuple)):
            return [_coerce(v, item, f"{where}[{i}]") for i, v in enumerate(value)]
    elif typing.get_origin(kind) is tuple:
        items = typing.get_args(kind)
        if isinstance(value, (list, tuple)) and (len(items) == 2 and items[1] is Ellipsis or len(value) == len(items)):
            return tuple(_coerce(v, items[0] if items[-1] is Ellipsis else items[i], f"{where}[{i}]")
                         for i, v in enumerate(value))
    else:
        raise TypeError(f"{where}: lrcn.config does not handle fields of type {kind}")
    raise LrcnError(f"{where}: expected {getattr(kind, '__name__', kind)}, got {value!r}")


def check(cfg: Any) -> Any:
    """Every field holds one of its ``choices`` and lies in its range; LrcnError names the flag otherwise."""
    for o in options(type(cfg)):
        value = get(cfg, o.path)
        if o.choices is not None and value not in o.choices:
            raise LrcnError(f"--{o.flag} {value}: choose from {', '.join(map(str, o.choices))}")
        if value is not None and ((o.low is not None and value < o.low) or (o.high is not None and value > o.high)):
            if o.low is not None and o.high is not None:
                raise LrcnError(f"--{o.flag} {value}: must be between {o.low:g} and {o.high:g}")
            raise LrcnError(f"--{o.flag} {value}: must be " + (f"at least {o.low:g}" if o.high is None else f"at most {o.high:g}"))
    return cfg


def get(cfg: Any, path: tuple[str, ...]) -> Any:
    for name in path:
        cfg = getattr(cfg, name)
    return cfg


def changed(cfg: Any, base: Any) -> dict[str, Any]:
    """{key: value} of the fields where ``cfg`` differs from ``base`` (same config class)."""
    return {o.key: get(cfg, o.path) for o in options(type(cfg)) if get(cfg, o.path) != get(base, o.path)}


def replace_at(cfg: C, path: tuple[str, ...], value: Any) -> C:
    """A copy of ``cfg`` with the field at ``path`` set to ``value``."""
    if len(path) == 1:
        return dataclasses.replace(cfg, **{path[0]: value})
    return dataclasses.replace(cfg, **{path[0]: replace_at(getattr(cfg, path[0]), path[1:], value)})


def resolve(cls: type[C], flags: dict[str, Any], config_file: str | os.PathLike | None = None,
            saved: C | None = None) -> C:
    """The config of a run: ``cls()`` < ``config_file`` < ``flags`` ({"train.epochs": 40, ...}, flags given only).

    With ``saved`` (a resumed run's config), that is the base and only ``resumable`` fields may change.
    """
    by_key = {o.key: o for o in options(cls)}
    if saved is not None:
        cfg = saved
        for key, value in flags.items():
            o = by_key[key]
            if not o.resumable and _coerce(value, o.kind, key) != get(saved, o.path):
                changeable = ", ".join(f"--{x.flag}" for x in by_key.values() if x.resumable)
                raise LrcnError(f"--{o.flag}: a resumed run keeps its config ({o.key} = {get(saved, o.path)!r}); "
                                f"only {changeable} may change")
    else:
        cfg = from_dict(cls, load_yaml(config_file), str(config_file)) if config_file else cls()
    for key, value in flags.items():
        cfg = replace_at(cfg, by_key[key].path, _coerce(value, by_key[key].kind, f"--{by_key[key].flag}"))
    return check(cfg)


def save_yaml(path: str | os.PathLike, cfg: Any) -> None:
    write_text(path, yaml.safe_dump(to_dict(cfg) if dataclasses.is_dataclass(cfg) else cfg, sort_keys=False))


def load_yaml(path: str | os.PathLike) -> dict:
    text = read_text(path)
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise LrcnError(f"{path}: not valid YAML ({str(e).splitlines()[0]})") from None
    except (ValueError, RecursionError) as e:  # an integer beyond Python's 4300-digit limit; nesting too deep
        raise LrcnError(f"{path}: not a usable YAML value ({type(e).__name__})") from None
    if not isinstance(data, dict):
        raise LrcnError(f"{path}: expected a mapping at the top level")
    return data
