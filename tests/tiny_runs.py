"""Run folders for tests that need one but not its training: a freshly initialised network, saved as a run."""
from __future__ import annotations

from pathlib import Path

import torch

from lrcn.config import resolve, save_yaml, to_dict
from lrcn.data.text import Vocabulary
from lrcn.files import write_json
from lrcn.models.backbones import create_backbone


def untrained_run(task: str, root: Path) -> Path:
    """A run folder of ``task`` holding a freshly initialised network: enough to read and answer inputs."""
    from lrcn.tasks.activity.config import ActivityConfig
    from lrcn.tasks.caption.config import CaptionConfig

    run = root / f"{task}-run"
    feature_dim = create_backbone("efficientnet_lite0", pretrained=False, grid=3).feature_dim
    if task == "activity":
        from lrcn.tasks.activity.network import build_model

        cfg = resolve(ActivityConfig, {"data.root": root, "features.image_size": 64, "model.pca": 0})
        info, net = {"classes": ["MoveLeft", "MoveRight"], "feature_dim": feature_dim}, build_model(cfg, 2, feature_dim)
    else:
        from lrcn.tasks.caption.network import build_model

        cfg = resolve(CaptionConfig, {"data.root": root, "features.image_size": 64, "model.embed_dim": 8,
                                      "model.hidden": 8, "model.image_dim": 8})
        vocab = Vocabulary.build([["a", "square"]], min_count=1)
        vocab.save(run / "vocab.json")
        info, net = {"feature_dim": feature_dim, "vocab_size": len(vocab)}, build_model(cfg, len(vocab), feature_dim)
    save_yaml(run / "config.yaml", {"task": task, **to_dict(cfg)})
    write_json(run / "model.json", info)
    (run / "checkpoints").mkdir(parents=True)
    torch.save({"state_dict": {f"model.{k}": v for k, v in net.state_dict().items()}}, run / "checkpoints" / "best.ckpt")
    return run
