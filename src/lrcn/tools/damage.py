"""What a killed process left behind, checked: every file whole, and a resumed run equal to an uninterrupted one.

:func:`broken_files` opens every file of a run folder or cache the way lrcn reads it and lists those that are
half-written; :func:`differences` compares two run folders (weights and optimiser state bit for bit, the metrics
of ``lrcn eval``, the rows of the training log).
"""
from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import numpy as np
import torch
import yaml

TEMPORARY = re.compile(r"^\..*\.tmp$")


def temporaries(*folders: Path) -> list[Path]:
    """Temporary files (a writer's, killed mid-write) under ``folders``."""
    return [p for f in folders if f.is_dir() for p in f.rglob(".*") if TEMPORARY.match(p.name)]


def broken_files(*folders: Path) -> list[str]:
    """One line per file under ``folders`` that does not read whole (temporary files are not read by lrcn: skipped)."""
    out = []
    for folder in folders:
        for p in sorted(folder.rglob("*")) if folder.is_dir() else []:
            if p.is_file() and not TEMPORARY.match(p.name) and (problem := _problem(p)):
                out.append(f"{p}: {problem}")
    return out


def _problem(p: Path) -> str | None:
    try:
        if p.suffix == ".npy":
            a = np.load(p)
            return None if a.size else "empty array"
        if p.suffix == ".npz":
            with np.load(p) as z:
                [z[k] for k in z.files]
        elif p.suffix in (".ckpt", ".pt"):
            torch.load(p, map_location="cpu", weights_only=True)
        elif p.suffix == ".json":
            json.loads(p.read_text())
        elif p.suffix == ".yaml":
            yaml.safe_load(p.read_text())
        elif p.suffix == ".png":
            from PIL import Image

            with Image.open(p) as im:
                im.load()
        elif p.suffix == ".csv" and p.stat().st_size and not p.read_bytes().endswith(b"\n"):
            return "last row torn (no line end)"
    except Exception as e:  # noqa: BLE001 - any failure to read is the finding
        return f"{type(e).__name__}: {str(e).splitlines()[0][:100] if str(e) else ''}"
    return None


def differences(ref: Path, got: Path) -> list[str]:
    """How run folder ``got`` differs from ``ref``: checkpoints (every tensor, bit for bit), ``metrics.json`` (timings
    and the folders' own paths aside) and ``logs/metrics.csv`` (every row, each epoch once). Empty: the same."""
    out = []
    for ckpt in sorted(p.relative_to(ref) for p in ref.rglob("*.ckpt")):
        a, b = _tensors(ref / ckpt, ref), _tensors(got / ckpt, got) if (got / ckpt).is_file() else None
        if b is None:
            out.append(f"{ckpt}: missing")
        elif a.keys() != b.keys():
            out.append(f"{ckpt}: other tensors ({sorted(a.keys() ^ b.keys())[:3]})")
        else:
            out += [f"{ckpt}: {k} differs" for k in a if not torch.equal(a[k], b[k])][:3]
    for name in ("metrics.json",):
        if (ref / name).is_file() and _metrics(ref / name, ref) != _metrics(got / name, got):
            out.append(f"{name}: other numbers")
    for log in sorted(p.relative_to(ref) for p in ref.rglob("metrics.csv")):
        a, b = log_rows(ref / log), log_rows(got / log)
        if a != b:
            out.append(f"{log}: {len(b)} rows, not the {len(a)} of the uninterrupted run"
                       + ("" if len(a) != len(b) else " (other values)"))
    return out


def _tensors(path: Path, run: Path) -> dict[str, torch.Tensor]:
    """Every tensor of a checkpoint, by its path in the nested dict (weights, optimiser state, the best score, ...),
    the run folder's own path in a key (Lightning keys the best checkpoints by path) written ``<run>``."""
    flat: dict[str, torch.Tensor] = {}

    def walk(x, key):
        if isinstance(x, torch.Tensor):
            flat[key] = x
        elif isinstance(x, dict):
            for k, v in x.items():
                walk(v, f"{key}/{k}".replace(str(run), "<run>"))
        elif isinstance(x, (list, tuple)):
            for i, v in enumerate(x):
                walk(v, f"{key}/{i}")

    walk(torch.load(path, map_location="cpu", weights_only=True), "")
    return flat


def _metrics(path: Path, run: Path):
    if not path.is_file():
        return None
    text = path.read_text().replace(str(run.parent), "<root>")

    def clean(x):
        if isinstance(x, dict):
            return {k: clean(v) for k, v in x.items() if not k.endswith("seconds")}
        return [clean(v) for v in x] if isinstance(x, list) else x

    return clean(json.loads(text))


def log_rows(path: Path) -> list[tuple]:
    """The rows of a CSV log, sorted, each as its non-empty (column, value) pairs."""
    if not path.is_file():
        return []
    with open(path, newline="") as f:
        return sorted(tuple(sorted((k, v) for k, v in row.items() if v)) for row in csv.DictReader(f))
