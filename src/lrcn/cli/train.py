"""``lrcn train activity|caption|describe``: one command per task, its options generated from the task's config."""
from __future__ import annotations

import importlib
from pathlib import Path
from typing import Optional

import typer
import yaml

from lrcn.cli.answers import CACHE, DEVICE
from lrcn.cli.apps import train_app
from lrcn.cli.options import config_options
from lrcn.config import changed, resolve, to_dict
from lrcn.errors import WriteError
from lrcn.tasks.activity.config import ActivityConfig
from lrcn.tasks.caption.config import CaptionConfig
from lrcn.tasks.describe.config import DescribeConfig

HELP = {
    "activity": "Train LRCN or the single-frame baseline on video clips (a frozen CNN's cached features, or --finetune).",
    "caption": "Train an LRCN captioner (1u, 2u, 2f, 4f) on a captioning data folder.",
    "describe": "Train the SR classifiers + CRF (unless --sr-from) and a sentence generator on TACoS-layout data.",
}
CONFIGS = {"activity": ActivityConfig, "caption": CaptionConfig, "describe": DescribeConfig}


def register(task: str, cls: type) -> None:
    @train_app.command(task, help=HELP[task] + " Options: defaults < --config FILE < flags.")
    @config_options(cls)
    def command(
        flags: dict,
        out: Path = typer.Option(..., help="Run folder to write (checkpoints, logs, config.yaml)."),
        config: Optional[Path] = typer.Option(None, help="A run config (YAML, e.g. a run's config.yaml) under the flags."),
        resume: bool = typer.Option(False, "--resume", help="Continue OUT from checkpoints/last.ckpt, with its saved config (a run killed before "
                                    "it saved one starts)."),
        force: bool = typer.Option(False, "--force", help="Start OUT over if it already holds a run."),
        device: str = DEVICE,
        cache: Optional[Path] = CACHE,
        print_config: bool = typer.Option(False, "--print-config", help="Print the resolved config (YAML) and exit."),
    ) -> None:
        cfg = resolve(cls, flags, config)
        if print_config:
            typer.echo(yaml.safe_dump({"task": task, **to_dict(cfg)}, sort_keys=False), nl=False)
            return
        if resume and config is not None:  # what the file sets is checked against the saved config, as flags are
            flags = {**changed(resolve(cls, {}, config), cls()), **flags}
        train = importlib.import_module(f"lrcn.tasks.{task}.train").train
        try:
            run = train(cfg, out, resume=resume, force=force, flags=flags if resume else None, device=device,
                        cache=cache)
        except WriteError as e:
            raise WriteError(f"{e}; then continue the run with --resume") from None
        typer.echo(f"run: {run.path}")


for _task, _cls in CONFIGS.items():
    register(_task, _cls)
