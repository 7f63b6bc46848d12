"""The models a server answers with, loaded once through ``lrcn.load`` and named after their folders."""
from __future__ import annotations

import os
from typing import Iterable

from lrcn.errors import a
from lrcn.predict import Predictor, load
from lrcn.serve.errors import ApiError


class Models:
    def __init__(self, predictors: Iterable[Predictor]):
        self.by_name: dict[str, Predictor] = {}
        for p in predictors:
            name, n = p.info()["name"], 2
            while name in self.by_name:  # two runs of one name (a/run, b/run): run, run-2
                name, n = f"{p.info()['name']}-{n}", n + 1
            self.by_name[name] = p

    @classmethod
    def load(cls, paths: Iterable[str | os.PathLike], device: str = "auto") -> "Models":
        """Every run folder or export in ``paths``; LrcnError (one line) for the first that cannot be loaded."""
        return cls(load(p, device=device) for p in paths)

    def pick(self, task: str, name: str | None = None) -> tuple[str, Predictor]:
        """The model called ``name`` (it must be of ``task``), or the first ``task`` model; 404 when there is none."""
        if name:
            if name not in self.by_name:
                raise ApiError(404, f"no model named {name!r} (loaded: {', '.join(self.by_name)})")
            if self.by_name[name].task != task:
                raise ApiError(422, f"{name}: {a(self.by_name[name].task)} model, not {a(task)} model")
            return name, self.by_name[name]
        for n, p in self.by_name.items():
            if p.task == task:
                return n, p
        raise ApiError(404, f"no {task} model is loaded (loaded: {', '.join(self.by_name) or 'none'})")

    def info(self) -> list[dict]:
        """What each model is: name, task, classes or vocabulary size, config (not where it lives on disk)."""
        return [{**{k: v for k, v in p.info().items() if k not in ("path", "fused")}, "name": name}
                for name, p in self.by_name.items()]
