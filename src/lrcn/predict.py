"""The one door to a trained model: ``lrcn.load(RUN or EXPORT, device=..., **options)`` -> a :class:`Predictor`.

Every task answers through the same contract, so a front end (the CLI, the HTTP server, a live stream) is
written once:

- ``predict(x)`` takes a file path, its raw bytes, a ``PIL.Image`` or a numpy array of frames and returns one
  JSON-able dict, the same as one ``--json`` line of ``lrcn classify|caption|describe`` (``"path"`` is there
  when the input has a name); a user error (an unreadable file, not a video, ...) raises LrcnError;
- ``predict_many(xs)`` answers a batch in input order; an input that fails becomes ``{"path", "error"}`` and the
  others still run;
- ``info()`` says what the model is: task, name, classes or vocabulary size, its config.

Options (``top_k``, ``beam``, ``sample``, ...) pass through :func:`load`. Prediction never writes: not into the
run folder, not into the feature cache. Nothing on this path imports Lightning or the training code.
"""
from __future__ import annotations

import copy
import importlib
import inspect
import os
from typing import Any, Iterable, Protocol

from lrcn.bundle import Bundle, open_bundle
from lrcn.errors import LrcnError, a
from lrcn.features.extractor import Extractor, weights_key
from lrcn.features.inputs import Input, name_of
from lrcn.features.spec import FeatureConfig


class Predictor(Protocol):
    task: str

    def predict(self, x: Input, name: str | None = None) -> dict: ...

    def predict_many(self, xs: Iterable[Input], names: Iterable[str | None] | None = None) -> list[dict]: ...

    def info(self) -> dict: ...

    def with_options(self, **options) -> "Predictor": ...


class BasePredictor:
    """The contract's bookkeeping, once: a task's predictor implements ``prepare`` (one input -> what its model
    reads, or LrcnError) and ``answer`` (a batch of prepared inputs -> one dict each)."""

    task: str

    def __init__(self, bundle: Bundle):
        self.bundle = bundle

    def prepare(self, x: Input, name: str | None) -> Any:
        raise NotImplementedError

    def configure(self, **options) -> None:
        """Set this predictor's options (``top_k``, ``beam``, ...); LrcnError for an unknown or bad one."""
        raise NotImplementedError

    def with_options(self, **options) -> "BasePredictor":
        """The same model with other options, sharing the network (a server answers each request its own way)."""
        other = copy.copy(self)
        other.configure(**options)
        return other

    def answer(self, prepared: list) -> list[dict]:
        raise NotImplementedError

    def info(self) -> dict:
        return {"name": self.bundle.name, "task": self.task, "path": str(self.bundle.path), **self.bundle.info,
                "config": self.bundle.config}

    def predict(self, x: Input, name: str | None = None) -> dict:
        name = name or name_of(x)
        return _named(name, self.answer([self.prepare(x, name)])[0])

    def predict_many(self, xs: Iterable[Input], names: Iterable[str | None] | None = None) -> list[dict]:
        xs = list(xs)
        names = [n or name_of(x) for n, x in zip(names or [None] * len(xs), xs)]
        out: list[dict | None] = [None] * len(xs)
        ready, prepared = [], []
        for i, (x, name) in enumerate(zip(xs, names)):
            try:
                prepared.append(self.prepare(x, name))
                ready.append(i)
            except LrcnError as e:
                out[i] = _named(name, {"error": str(e)})
        for i, answer in zip(ready, self.answer(prepared) if prepared else []):
            out[i] = _named(names[i], answer)
        return out


def load_weights(bundle: Bundle, model: "torch.nn.Module", device) -> "torch.nn.Module":
    """``model`` (built from the bundle's config) with the bundle's weights, in eval mode on ``device``."""
    try:
        model.load_state_dict(bundle.state_dict())
    except RuntimeError as e:
        raise LrcnError(f"{bundle.path}: its weights do not fit its config ({str(e).splitlines()[0][:160]})") from None
    return model.eval().to(device)


def extractor_of(bundle: Bundle, features: FeatureConfig, model: "torch.nn.Module", source: str, device
                 ) -> Extractor:
    """The CNN a trained model reads its inputs with (centre views): its own fine-tuned one, the frozen one its export
    carries, else the one its features came from, its weights checked against the sha256 the run recorded."""
    cnn = getattr(model, "backbone", None)
    carried = bundle.cnn_state_dict() if cnn is None else None
    if carried is not None:
        cnn = features.cnn(start=False)
        cnn.load_state_dict(carried)
        cnn.eval().requires_grad_(False)
    if cnn is not None:
        return Extractor(features.spec("center", source, weights=weights_key(cnn), device=device), device, cnn)
    spec = features.spec("center", source, device=device)
    bundle.check_cnn(spec.backbone_sha256)
    return Extractor(spec, device)


def _named(name: str | None, answer: dict) -> dict:
    return answer if name is None else {"path": name, **answer}


def load(path: str | os.PathLike, device: str = "auto", task: str | None = None, **options) -> Predictor:
    """The predictor of a run folder or an export; dispatches on the task to ``lrcn.tasks.<task>.predictor``.

    ``task``: refuse a model of another task; ``options``: the task's, checked by name.
    """
    bundle = open_bundle(path)
    if task is not None and bundle.task != task:
        raise LrcnError(f"{path}: {a(bundle.task)} model, not {a(task)} model")
    load_predictor = importlib.import_module(f"lrcn.tasks.{bundle.task}.predictor").load_predictor
    known = [p for p in inspect.signature(load_predictor).parameters if p not in ("bundle", "device")]
    unknown = sorted(set(options) - set(known))
    if unknown:
        raise LrcnError(f"{path}: {a(bundle.task)} model takes no option {', '.join(unknown)} "
                        f"(its options: {', '.join(known)})")
    return load_predictor(bundle, device=device, **options)
