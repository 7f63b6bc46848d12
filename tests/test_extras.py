"""What runs without each optional part, and the one line that names the package a missing one is installed from: a
GPU machine set up by hand lacks OpenVINO and PyAV (docs/gpu.md); ``pip install lrcn`` leaves out the server's stack
(the extra ``serve``)."""
import json
import os
import sys

import numpy as np
import pytest
from PIL import Image

from activity_data import write_ucf101
from cli import lrcn
from lrcn.errors import LrcnError
from lrcn.extras import module
from tiny_runs import untrained_run


@pytest.fixture(scope="module")
def video(tmp_path_factory):
    return write_ucf101(tmp_path_factory.mktemp("ucf"), groups=2, test_groups=1) / "MoveLeft" / "v_MoveLeft_g01_c01.avi"


def test_without_openvino_the_cnn_runs_on_pytorch_and_answers_as_with_it(tmp_path, video):
    run = untrained_run("activity", tmp_path)
    env = {**os.environ, "LRCN_CACHE": str(tmp_path / "cache")}  # where classify keeps the CNN converted for OpenVINO
    with_it = json.loads(lrcn("classify", run, video, "--json", env=env).stdout)
    without = json.loads(lrcn("classify", run, video, "--json", env=env, without=["openvino"]).stdout)
    assert without["label"] == with_it["label"] and without["score"] == pytest.approx(with_it["score"], abs=0.02)
    doctor = json.loads(lrcn("doctor", "--json", without=["openvino"]).stdout)
    assert doctor["auto"]["cpu"]["--engine"] == {"value": "torch", "why": "OpenVINO is not installed"}
    out = lrcn("features", "--task", "activity", "--data", video.parent.parent, "--engine", "openvino", "--cache",
               tmp_path / "cache", without=["openvino"], check=False)
    assert out.returncode == 1 and out.stderr.strip() == ("error: --engine openvino needs the package openvino, which "
                                                          "is not installed here: pip install openvino")


def test_without_pyav_a_video_is_one_line_naming_the_package_and_captions_still_run(tmp_path, video):
    out = lrcn("classify", untrained_run("activity", tmp_path), video, "--json", without=["av"], check=False)
    assert out.returncode == 1 and "Traceback" not in out.stderr
    assert "needs the package av, which is not installed here: pip install av" in json.loads(out.stdout)["error"]
    image = tmp_path / "red.jpg"
    Image.fromarray(np.full((64, 64, 3), (200, 30, 30), np.uint8)).save(image)
    answer = json.loads(lrcn("caption", untrained_run("caption", tmp_path), image, "--json", without=["av"]).stdout)
    assert "caption" in answer and "error" not in answer


def test_lrcn_serve_without_its_extra_is_one_line_naming_the_extra(tmp_path):
    out = lrcn("serve", untrained_run("caption", tmp_path), without=["fastapi", "uvicorn"], check=False)
    assert out.returncode == 1 and out.stderr.strip() == (
        "error: lrcn serve needs fastapi, uvicorn (the extra serve), not installed here: pip install 'lrcn[serve]'")


def test_a_missing_package_is_one_line_naming_it_and_what_needs_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "pycocoevalcap", None)
    with pytest.raises(LrcnError, match=r"^the caption metrics .* needs the package pycocoevalcap, which is not "
                                        r"installed here: pip install pycocoevalcap$"):
        module("pycocoevalcap")
    assert module("json") is json  # the others import as ever
