"""One run = one folder: ``config.yaml`` (with its ``task``), ``checkpoints/``, ``logs/``, ``metrics.json``, plots."""
from __future__ import annotations

import os
from pathlib import Path

from lrcn.config import load_yaml, save_yaml
from lrcn.errors import LrcnError

CONFIG = "config.yaml"


def write_run_config(run: str | os.PathLike, task: str, cfg) -> None:
    """Save the resolved config of a run, tagged with its task (activity, caption, describe)."""
    from lrcn.config import to_dict

    save_yaml(Path(run) / CONFIG, {"task": task, **to_dict(cfg)})


def read_run_config(run: str | os.PathLike) -> tuple[str, dict]:
    """(task, config dict) of a run folder; LrcnError if ``run`` is not one."""
    run = Path(run)
    if not (run / CONFIG).is_file():
        raise LrcnError(f"{run}: not a run folder (no {CONFIG})")
    data = load_yaml(run / CONFIG)
    task = data.pop("task", None)
    if task is None:
        raise LrcnError(f"{run / CONFIG}: no 'task' key")
    return task, data


def best_checkpoint(run: str | os.PathLike) -> Path:
    """The run's best checkpoint, else its last; LrcnError if it has none."""
    ckpts = Path(run) / "checkpoints"
    for name in ("best.ckpt", "last.ckpt"):
        if (ckpts / name).is_file():
            return ckpts / name
    raise LrcnError(f"{run}: no checkpoint (train it first)")
