"""Run configs: each field written once (its YAML key, default, option, help and check come from one line)."""
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from cli import lrcn
from lrcn.config import arg, from_dict, load_yaml, options, resolve, save_yaml, section
from lrcn.errors import LrcnError
from lrcn.models.decoding import Decoding
from lrcn.tasks.activity.config import ActivityConfig
from lrcn.tasks.caption.config import CaptionConfig
from lrcn.tasks.describe.config import DescribeConfig


@dataclass
class Inner:
    size: int = arg(3, "A size.", choices=(1, 3, 5))
    path: Path = arg(Path("data"), "A path.", flag="data")
    names: list[str] = arg(factory=list, flag="name", help="Names.")
    epochs: int = arg(10, "Epochs.", resumable=True)


@dataclass
class Outer:
    inner: Inner = section(Inner, size=5)
    other: Inner = section(Inner, prefix="other-")
    label: str = arg("x", "A label.")


@dataclass
class Clashing:
    inner: Inner = section(Inner)
    name: str = arg("x", "A name.")


def test_config_roundtrips_through_yaml(tmp_path):
    cfg = Outer(Inner(1, Path("/tmp/d"), ["a"], 4), Inner(), "y")
    save_yaml(tmp_path / "c.yaml", cfg)
    assert from_dict(Outer, load_yaml(tmp_path / "c.yaml")) == cfg


def test_a_section_takes_the_tasks_own_defaults_and_its_flags_a_prefix():
    assert Outer().inner.size == 5 and Outer().other.size == 3
    flags = {o.key: o.flag for o in options(Outer)}
    assert flags == {"inner.size": "size", "inner.path": "data", "inner.names": "name", "inner.epochs": "epochs",
                     "other.size": "other-size", "other.path": "other-data", "other.names": "other-name",
                     "other.epochs": "other-epochs", "label": "label"}


def test_two_fields_on_one_flag_are_refused():
    with pytest.raises(ValueError, match="--name names both inner.names and name"):
        options(Clashing)


@pytest.mark.parametrize("problem, data", [("unknown key.*colour", {"inner": {"colour": 1}}),
                                           ("inner.size: expected int, got 'big'", {"inner": {"size": "big"}}),
                                           ("inner: expected a mapping", {"inner": [1, 2]}),
                                           ("inner.names\\[0\\]: expected str", {"inner": {"names": [3]}})])
def test_unknown_keys_and_wrong_types_are_errors_naming_the_key(problem, data):
    with pytest.raises(LrcnError, match=problem):
        from_dict(Outer, data)


def test_a_partial_file_keeps_the_defaults_of_what_it_leaves_out():
    assert from_dict(Outer, {"inner": {"epochs": 2}}).inner == Inner(5, Path("data"), [], 2)


@pytest.mark.parametrize("cls", [ActivityConfig, CaptionConfig, DescribeConfig, Decoding])
def test_every_task_field_has_one_flag_and_its_help(cls):
    opts = options(cls)  # raises on two fields sharing a flag
    assert all(o.help for o in opts), [o.key for o in opts if not o.help]
    assert [o.key for o in opts if o.resumable] in (["data.workers", "train.epochs"], [])


def test_defaults_then_the_file_then_the_flags(tmp_path):
    (tmp_path / "run.yaml").write_text(yaml.safe_dump({"train": {"epochs": 7, "lr": 0.5}, "model": {"hidden": 64}}))
    cfg = resolve(ActivityConfig, {"train.epochs": 9, "data.root": "v"}, tmp_path / "run.yaml")
    assert (cfg.train.epochs, cfg.train.lr, cfg.model.hidden, cfg.data.root) == (9, 0.5, 64, Path("v"))
    assert cfg.model.fc6 == ActivityConfig().model.fc6


def test_a_resumed_run_keeps_its_config_but_may_train_longer():
    saved = resolve(ActivityConfig, {"train.epochs": 5, "model.hidden": 32})
    assert resolve(ActivityConfig, {"train.epochs": 8, "model.hidden": 32}, saved=saved).train.epochs == 8
    with pytest.raises(LrcnError, match=r"--hidden: a resumed run keeps its config \(model.hidden = 32\); only"):
        resolve(ActivityConfig, {"model.hidden": 64}, saved=saved)


def test_a_value_outside_the_choices_names_the_flag():
    with pytest.raises(LrcnError, match="--arch lstm: choose from lrcn, single-frame"):
        resolve(ActivityConfig, {"model.arch": "lstm"})


def test_the_cli_prints_the_resolved_config_from_a_file_and_flags(tmp_path):
    (tmp_path / "run.yaml").write_text(yaml.safe_dump({"model": {"hidden": 64}, "train": {"epochs": 7}}))
    out = lrcn("train", "activity", "--out", tmp_path / "r", "--config", tmp_path / "run.yaml", "--epochs", 9,
               "--mirror-pair", "A:B", "--mirror-pair", "C:D", "--flip", "--print-config")
    printed = yaml.safe_load(out.stdout)
    assert printed["task"] == "activity" and printed["model"]["hidden"] == 64 and printed["train"]["epochs"] == 9
    assert printed["train"]["mirror_pairs"] == ["A:B", "C:D"] and printed["data"]["flip"] is True
    assert not (tmp_path / "r").exists()
    bad = lrcn("train", "activity", "--out", tmp_path / "r", "--modality", "depth", check=False)
    assert bad.returncode == 1 and bad.stderr.strip() == "error: --modality depth: choose from rgb, flow"
