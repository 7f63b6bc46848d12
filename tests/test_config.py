from dataclasses import dataclass, field
from pathlib import Path

import pytest

from lrcn.config import from_dict, load_yaml, save_yaml, to_dict
from lrcn.errors import LrcnError
from lrcn.runs import read_run_config, write_run_config


@dataclass
class Inner:
    size: int = 3
    path: Path = Path("data")
    pair: tuple[int, int] = (1, 2)


@dataclass
class Outer:
    inner: Inner = field(default_factory=Inner)
    name: str = "x"


def test_config_roundtrips_through_yaml(tmp_path):
    cfg = Outer(Inner(5, Path("/tmp/d"), (3, 4)), "y")
    save_yaml(tmp_path / "c.yaml", cfg)
    assert from_dict(Outer, load_yaml(tmp_path / "c.yaml")) == cfg


def test_unknown_key_is_an_error_naming_it():
    with pytest.raises(LrcnError, match="inner: unknown key.*colour"):
        from_dict(Outer, {"inner": {"colour": 1}})


def test_run_config_carries_its_task_and_a_non_run_folder_is_a_user_error(tmp_path):
    write_run_config(tmp_path / "run", "activity", Outer())
    task, data = read_run_config(tmp_path / "run")
    assert task == "activity" and data == to_dict(Outer())
    with pytest.raises(LrcnError, match="not a run folder"):
        read_run_config(tmp_path / "nothing")
