"""``lrcn features --task T --data DIR``: fill the feature cache once (alone, or as many processes under torchrun) so
that every later run reads it. The spec options are train's, so the entries are the ones train and eval read."""
from __future__ import annotations

import importlib
import logging
from pathlib import Path
from typing import Optional

import typer

from lrcn.cli.answers import CACHE, DEVICE
from lrcn.cli.apps import app
from lrcn.cli.options import config_options, section_options
from lrcn.cli.train import CONFIGS
from lrcn.config import options, resolve
from lrcn.errors import LrcnError

log = logging.getLogger(__name__)


@app.command("features", help="Compute and cache the frame features a task's training and evaluation read (rgb or "
             "flow frames, or images). Under `torchrun --nproc_per_node N [--nnodes M ...] --no-python lrcn features "
             "...` each process takes its share of the files. Options: defaults < --config FILE < flags.")
@config_options(section_options(list(CONFIGS.values()), ("data", "features")))
def features(
    flags: dict,
    task: str = typer.Option(..., "--task", help=f"The task whose features to cache: {', '.join(CONFIGS)}."),
    config: Optional[Path] = typer.Option(None, help="A run config (YAML, e.g. a run's config.yaml) under the flags."),
    device: str = DEVICE,
    cache: Optional[Path] = CACHE,
) -> None:
    from lrcn import distributed
    from lrcn.device import resolve as resolve_device

    if task not in CONFIGS:
        raise LrcnError(f"--task {task}: choose from {', '.join(CONFIGS)}")
    keys = {o.key: o.flag for o in options(CONFIGS[task])}
    foreign = [f"--{o.flag}" for o in section_options(list(CONFIGS.values()), ("data", "features"))
               if o.key in flags and o.key not in keys]
    if foreign:
        raise LrcnError(f"{', '.join(foreign)}: not an option of --task {task}")
    cfg = resolve(CONFIGS[task], flags, config)
    dev = resolve_device(device)
    jobs = importlib.import_module(f"lrcn.tasks.{task}.data").feature_jobs(cfg, cache, dev)
    ours = distributed.init()  # under torchrun: this command's own process group
    try:
        rank, world = distributed.rank_world()
        for fc, paths in jobs:
            errors = fc.build(paths, workers=cfg.data.workers, description=f"{task} features")
            log.info("rank %d of %d: %s", rank, world, fc.stats.line())
            if distributed.is_main():
                for line in errors.values():
                    log.warning("skipped: %s", line)
                typer.echo(f"features: {fc.dir} ({len(set(map(str, paths)))} files, {len(errors)} unreadable, "
                           f"{fc.spec.engine} {fc.spec.precision}, {world} process{'es' if world > 1 else ''})")
    finally:
        if ours:
            distributed.close()
