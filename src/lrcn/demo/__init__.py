"""``lrcn demo``: every task end to end on the embedded data, into one report.

Each section module (``lrcn.demo.<name>``) has ``run(ctx: DemoContext) -> Section``. Sections run
in order; ``results.json`` and ``report.md`` are rewritten (atomically) after each one, so an
interrupted demo still leaves a readable report of what finished.

A demo killed mid-way and started again finishes what it had begun: a finished section is reused
(``OUT/sections/<name>.json``, for the same ``--quick`` and ``--seed``), a half-trained run resumes
(:func:`train_or_resume`; the resumed training is the same, bit for bit), and the report is the one an
uninterrupted demo writes (its timings aside).
"""
from __future__ import annotations

import contextlib
import importlib
import os
import platform
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import torch

from lrcn.errors import LrcnError
from lrcn.files import read_json, sweep_temporaries, write_json, write_text

SECTIONS = ["activity", "captioning", "description"]
SERVED = ["activity-rgb-lrcn", "activity-flow-lrcn", "caption-lrcn2f", "describe-crf-prob"]  # one per task and stream


@dataclass
class DemoContext:
    out: Path
    quick: bool
    seed: int

    @property
    def data(self) -> Path:
        return self.out / "data"

    @property
    def cache(self) -> Path:
        """The feature cache of every section: $LRCN_CACHE where the user set one, else OUT/cache."""
        return Path(os.environ.get("LRCN_CACHE") or self.out / "cache")

    def run_dir(self, name: str) -> Path:
        return self.out / name


@dataclass
class Section:
    title: str
    markdown: str
    results: dict = field(default_factory=dict)  # merged into results.json at the top level
    seconds: float = 0.0


def run_demo(out: Path, quick: bool = False, seed: int = 0, only: list[str] | None = None,
             started_at: float | None = None) -> Path:
    unknown = sorted(set(only or []) - set(SECTIONS))
    if unknown:
        raise LrcnError(f"--only {', '.join(unknown)}: unknown section; choose from {', '.join(SECTIONS)}")
    ctx = DemoContext(Path(out), quick, seed)
    ctx.out.mkdir(parents=True, exist_ok=True)
    sweep_temporaries(ctx.out)
    start = time.time()
    sections: list[Section] = []
    results: dict = {}
    with _cache_default(ctx.cache):
        for name in SECTIONS:
            if only and name not in only:
                continue
            section = _finished(ctx, name)
            if section is None:
                t0 = time.time()
                section = importlib.import_module(f"lrcn.demo.{name}").run(ctx)
                section.seconds = time.time() - t0
                write_json(ctx.out / "sections" / f"{name}.json", {"key": _key(ctx), **asdict(section)})
            sections.append(section)
            results.update(section.results)
            results["timing"] = _timing(sections, start, started_at)
            write_json(ctx.out / "results.json", results)
            write_text(ctx.out / "report.md", _report(ctx, sections, results["timing"]))
    return ctx.out / "report.md"


@contextlib.contextmanager
def _cache_default(cache: Path):
    """The demo's predictors (evaluation, galleries) keep their converted CNNs in the cache its training uses (one
    conversion per network, none in the user's default cache)."""
    before = os.environ.get("LRCN_CACHE")
    os.environ["LRCN_CACHE"] = str(cache.resolve())
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("LRCN_CACHE", None)
        else:
            os.environ["LRCN_CACHE"] = before


def serve_command(out: Path) -> str | None:
    """``lrcn serve ...`` for the demo's headline runs (those it has trained), to try them in a browser."""
    import shlex

    runs = [shlex.quote(str(Path(out) / name)) for name in SERVED if (Path(out) / name / "model.json").is_file()]
    return f"lrcn serve {' '.join(runs)}" if runs else None


def _key(ctx: DemoContext) -> dict:
    return {"quick": ctx.quick, "seed": ctx.seed}


def _finished(ctx: DemoContext, name: str) -> Section | None:
    """The section a previous demo with the same settings finished, if any."""
    path = ctx.out / "sections" / f"{name}.json"
    saved = read_json(path) if path.is_file() else {}
    if saved.pop("key", None) != _key(ctx):
        return None
    return Section(**saved)


def train_or_resume(train: Callable, cfg, run_dir: Path, cache: Path) -> None:
    """``train(cfg)`` into the demo's own ``run_dir``: resumed when it holds this config (a killed demo's half-trained
    run continues; a finished one has nothing left to train), started over when it holds another or none."""
    from lrcn.config import from_dict
    from lrcn.runs import read_config

    try:
        same = from_dict(type(cfg), read_config(run_dir)[1]) == cfg
    except LrcnError:
        same = False
    train(cfg, run_dir, resume=same, force=not same, cache=cache, progress=False)


def _timing(sections: list[Section], start: float, started_at: float | None) -> dict:
    now = time.time()
    timing = {"sections_s": {s.title: round(s.seconds, 1) for s in sections}, "demo_s": round(now - start, 1)}
    if started_at is not None:
        timing["setup_s"] = round(start - started_at, 1)
        timing["total_s"] = round(now - started_at, 1)
    return timing


def machine_line() -> str:
    """The machine the demo ran on and what every ``auto`` resolved to there (``lrcn doctor`` prints the same)."""
    from lrcn import hardware
    from lrcn.device import resolve
    from lrcn.doctor import choices

    device = resolve("auto")
    gpus = "; ".join(f"{g.name} (sm {g.capability[0]}.{g.capability[1]})" for g in hardware.gpus()) or "none"
    auto = choices()[str(device) if device.type != "cuda" else f"cuda:{device.index or 0}"]
    picks = ", ".join(f"{option.split(' (')[0]} {c['value']}" for option, c in auto.items())
    reasons = "; ".join(dict.fromkeys(c["why"] for c in auto.values()))
    return (f"Machine: {hardware.describe_cpu()} ({platform.machine()}), GPU {gpus}, torch {torch.__version__} on "
            f"{torch.get_num_threads()} threads, device {device.type}. Ran with what `auto` resolved to here (`lrcn "
            f"doctor`): {picks} ({reasons}).")


def _report(ctx: DemoContext, sections: list[Section], timing: dict) -> str:
    lines = [
        "# LRCN demo report",
        "",
        "Long-term Recurrent Convolutional Networks (Donahue et al., CVPR 2015) on the embedded synthetic data, "
        "written in the real data sets' formats and read back by the real loaders. Paper numbers are on the "
        "paper's real benchmarks; ours are on synthetic stand-ins, so compare shapes and orderings, not values.",
        "",
        f"Reproduce: `lrcn demo --out {ctx.out}{' --quick' if ctx.quick else ''} --seed {ctx.seed}`. "
        f"{machine_line()}",
        "",
    ]
    for s in sections:
        lines += [f"## {s.title}", "", s.markdown.strip(), ""]
    lines += ["## Timing", "", "| step | seconds |", "|---|---:|"]
    if "setup_s" in timing:
        lines.append(f"| setup (venv, install) | {timing['setup_s']:.0f} |")
    lines += [f"| {name} | {sec:.0f} |" for name, sec in timing["sections_s"].items()]
    lines.append(f"| **total{' incl. setup' if 'total_s' in timing else ''}** | **{timing.get('total_s', timing['demo_s']):.0f}** |")
    return "\n".join(lines) + "\n"
