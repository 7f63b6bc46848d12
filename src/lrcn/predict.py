"""The Python API behind ``lrcn.load(RUN)``: a run folder -> a predictor with ``.predict(path) -> dict``."""
from __future__ import annotations

import importlib
import os

from lrcn.runs import read_run_config


def load(run: str | os.PathLike, **kwargs):
    """The predictor of a trained run folder; dispatches on the run's task to ``lrcn.tasks.<task>.load_predictor``."""
    task, _ = read_run_config(run)
    return importlib.import_module(f"lrcn.tasks.{task}").load_predictor(run, **kwargs)
