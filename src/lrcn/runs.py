"""One run = one folder, and one lifecycle for every task.

A run folder holds ``config.yaml`` (the resolved config, tagged with its ``task``, and under ``resolved`` what each
``auto`` option resolved to on the machine that trained it, and why), ``model.json`` (what
prediction needs besides the weights: class names, feature size, ...), ``checkpoints/{best,last}.ckpt``,
``logs/``, ``skipped.txt`` and whatever evaluation writes (``metrics.json``, plots).

:func:`start` is the only way training opens a run folder:

- a new run refuses a folder that already holds a trained one (a checkpoint), unless ``force`` (which clears it)
  or ``resume``; a folder whose run never reached a checkpoint (a start that failed) is simply started over;
- ``resume`` continues from ``checkpoints/last.ckpt`` with the saved config, never one rebuilt from flags
  (only ``resumable`` fields such as ``epochs`` may change); killed before its first checkpoint, a run
  resumes by starting over from its saved config (keeping the finished stages a task names in ``keep``), and
  killed before it saved its config, by starting it as new: ``--resume`` always continues what was asked;
- one training at a time: a second process gets one clear error (an ``flock`` on ``RUN/.lock``, held by the
  training process alone: its forked workers drop it, so a killed run's lingering workers never lock it out);
- temporary files that a killed writer left in the folder are removed when it is opened again;
- only rank 0 (under ``torchrun`` or ``srun``) writes; every rank seeds the same way.
"""
from __future__ import annotations

import fcntl
import logging
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from lrcn.config import changed, from_dict, load_yaml, options, resolve, save_yaml, to_dict
from lrcn.device import resolve as resolve_device
from lrcn.errors import LrcnError, a
from lrcn.files import read_json, sweep_temporaries, write_failure, write_json
from lrcn.tasks import resolved

CONFIG = "config.yaml"
MODEL_INFO = "model.json"
LOCK = ".lock"
log = logging.getLogger(__name__)
_held: set = set()  # the run locks this process holds


def is_rank_zero() -> bool:
    """True in a single process, and on rank 0 under ``torchrun`` or ``srun`` (before and after the process group
    exists)."""
    return int(os.environ.get("RANK", os.environ.get("SLURM_PROCID", "0"))) == 0


@dataclass
class Run:
    path: Path
    task: str
    config: Any  # the task's config dataclass
    resume_from: Path | None = None  # the checkpoint training continues from
    _lock: Any = field(default=None, repr=False)

    @property
    def checkpoints(self) -> Path:
        return self.path / "checkpoints"

    def checkpoint(self) -> Path:
        """The run's best checkpoint, else its last; LrcnError if it has none."""
        for name in ("best.ckpt", "last.ckpt"):
            if (self.checkpoints / name).is_file():
                return self.checkpoints / name
        raise LrcnError(f"{self.path}: no checkpoint (train it first, or --resume it)")

    def write_info(self, info: dict) -> None:
        """``model.json``: what prediction needs besides the config and the weights (rank 0 writes)."""
        if is_rank_zero():
            write_json(self.path / MODEL_INFO, info)

    def info(self) -> dict:
        path = self.path / MODEL_INFO
        if not path.is_file():
            raise LrcnError(f"{self.path}: no {MODEL_INFO} (a run from before lrcn 0.2, or not trained); retrain it")
        return read_json(path)

    def release(self) -> None:
        if self._lock is not None:
            _release(self._lock)
            self._lock = None

    def __enter__(self) -> "Run":
        return self

    def __exit__(self, *exc) -> None:
        self.release()


def read_config(path: str | os.PathLike) -> tuple[str, dict]:
    """(task, config dict) of a run folder; LrcnError if ``path`` is not one."""
    path = Path(path)
    if not (path / CONFIG).is_file():
        raise LrcnError(f"{path}: not a run folder (no {CONFIG})")
    data = load_yaml(path / CONFIG)
    data.pop("resolved", None)  # a record of the machine that trained it; prediction resolves anew where it runs
    task = data.pop("task", None)
    if not isinstance(task, str):
        raise LrcnError(f"{path / CONFIG}: no 'task' key")
    return task, data


def open_run(path: str | os.PathLike, task: str, config_cls: type) -> Run:
    """An existing run folder of ``task``, its config parsed (strictly) into ``config_cls``."""
    path = Path(path)
    found, data = read_config(path)
    if found != task:
        raise LrcnError(f"{path}: {a(found)} run, not {a(task)} run")
    return Run(path, task, from_dict(config_cls, data, str(path / CONFIG)))


def start(path: str | os.PathLike, task: str, config: Any, *, device: torch.device | None = None,
          resume: bool = False, force: bool = False, flags: dict | None = None, keep: tuple[str, ...] = ()) -> Run:
    """Open ``path`` for training ``config`` on ``device`` (default: ``--device auto``; see the module docstring).
    ``flags``: with ``resume``, the options given on the command line ({"train.epochs": 40}), checked against the
    saved config. ``keep``: what a resumed run that starts over keeps (a finished stage)."""
    path = Path(path)
    if resume and force:
        raise LrcnError("--resume and --force: give one (continue the run, or start it over)")
    created = not path.exists()
    lock = _lock(path) if is_rank_zero() else None
    try:
        resume_from = None
        if resume and not (path / CONFIG).is_file():
            log.info("%s: nothing saved to resume (killed before it started); starting it", path)
            resume = False
        if resume:
            saved = open_run(path, task, type(config)).config
            if flags is None:  # the Python API: the config given, against the saved one
                flags = changed(config, saved)
            config = resolve(type(config), flags, saved=saved)
            last = path / "checkpoints" / "last.ckpt"
            resume_from = last if last.is_file() else None
            if is_rank_zero():
                sweep_temporaries(path, recursive=True)
                if resume_from is None:
                    _clear(path, keep)  # killed before its first checkpoint: start over from the saved config
        else:
            if is_rank_zero():  # the other ranks would race rank 0's config.yaml and refuse the folder it started
                _check_new(path, force)
        choices = resolved(config, device or resolve_device("auto"))
        if is_rank_zero():
            auto = {k: c for k, c in choices.items() if c.asked == "auto"}
            if auto:
                log.info(auto_line(auto, {o.key: o.flag for o in options(type(config))}))
            save_yaml(path / CONFIG, {"task": task, **to_dict(config),
                                      "resolved": {k: c.record() for k, c in choices.items()}})
    except BaseException:
        if lock is not None:
            _release(lock)
            if created:  # leave no folder behind for a run that never started
                shutil.rmtree(path, ignore_errors=True)
        raise
    return Run(path, task, config, resume_from, lock)


def auto_line(choices: dict, flags: dict[str, str]) -> str:
    """One line for what ``auto`` resolved to, grouped by reason: "auto: --cnn-precision bf16, --precision bf16 (this
    CPU has bf16 dot products (AMX)); --engine openvino (...)"."""
    reasons: dict[str, list[str]] = {}
    for key, c in choices.items():
        reasons.setdefault(c.why, []).append(f"--{flags[key]} {c.value}")
    return "auto: " + "; ".join(f"{', '.join(picks)} ({why})" for why, picks in reasons.items())


def _lock(path: Path):
    try:
        path.mkdir(parents=True, exist_ok=True)
        f = open(path / LOCK, "a")
    except OSError as e:
        raise write_failure(path / LOCK, e) or e from None
    try:
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        f.close()
        raise LrcnError(f"{path}: another process is training this run (it holds {path / LOCK})") from None
    _held.add(f)
    return f


def _release(lock) -> None:
    _held.discard(lock)
    lock.close()


def _drop_locks_in_child() -> None:
    """In a forked child (a DataLoader worker): point the lock's descriptor at /dev/null, so that the lock is the
    training process's alone and ends with it, even while its workers linger (they notice a dead parent late)."""
    for f in _held:
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, f.fileno())
        os.close(null)


os.register_at_fork(after_in_child=_drop_locks_in_child)


def _check_new(path: Path, force: bool) -> None:
    """A new run may go into an empty folder, or over a run that never reached a checkpoint (a failed start)."""
    contents = [p for p in path.iterdir() if p.name != LOCK] if path.is_dir() else []
    if not contents:
        return
    if not (path / CONFIG).is_file():
        raise LrcnError(f"{path}: not empty and not a run folder; choose another --out")
    if any((path / "checkpoints").glob("*.ckpt")) and not force:
        raise LrcnError(f"{path}: a run folder already; pass --resume to continue it, --force to start it over, "
                        "or choose another --out")
    _clear(path)


def _clear(path: Path, keep: tuple[str, ...] = ()) -> None:
    """Empty a run folder but for ``keep`` (its lock stays: this process holds it)."""
    for p in path.iterdir():
        if p.name == LOCK or p.name in keep:
            continue
        if p.is_dir() and not p.is_symlink():
            shutil.rmtree(p)
        else:
            p.unlink()
