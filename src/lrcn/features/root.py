"""Where features live: one cache root for every task and run (features, converted engines, flow, crash logs).

``--cache DIR``, else ``$LRCN_CACHE``, else ``$XDG_CACHE_HOME/lrcn`` (``~/.cache/lrcn``). Run folders never hold
features.
"""
from __future__ import annotations

import os
from pathlib import Path


def cache_root(explicit: str | os.PathLike | None = None) -> Path:
    """The feature cache's root: ``explicit`` (``--cache``), ``$LRCN_CACHE``, or ``$XDG_CACHE_HOME/lrcn``."""
    if explicit:
        return Path(explicit)
    if os.environ.get("LRCN_CACHE"):
        return Path(os.environ["LRCN_CACHE"])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "lrcn"
