"""The network of a describe run, built from its config and model info: what training fits and prediction loads."""
from __future__ import annotations

from lrcn.config import from_dict
from lrcn.models.describer import DescribeNet
from lrcn.models.sr import SRConfig
from lrcn.tasks.describe.config import DescribeConfig


def build_model(cfg: DescribeConfig, info: dict) -> DescribeNet:
    """``info``: the run's model.json ({"labels", "pca", "sr", "feature_dim", "vocab_size"})."""
    sizes = tuple(len(names) for names in info["labels"].values())
    return DescribeNet(info["feature_dim"], info["pca"], sizes, info["vocab_size"], from_dict(SRConfig, info["sr"]),
                       cfg.model)
