import json

import pytest

from cli import CAN_LOCK_FILES, locked_copy, lrcn
from lrcn.data.synthetic.kitchen import KitchenConfig, render_interval, write_kitchen
from lrcn.data.video import write_video

pytestmark = pytest.mark.cpu_kinds  # make test runs these again held to AVX2

TINY = KitchenConfig(sessions=5, intervals_per_session=3, frames_per_interval=8)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("describe")
    data = write_kitchen(tmp / "kitchen", seed=0, cfg=TINY, workers=1)
    lrcn("train", "describe", "--data", data, "--variant", "crf-prob", "--out", tmp / "run", "--epochs", 2,
         "--sr-epochs", 2)
    return tmp / "run"


def test_train_writes_a_run_with_its_sr_stage(run):
    for name in ("config.yaml", "vocab.json", "checkpoints/best.ckpt", "sr/stage.json", "sr/pca.pt",
                 "sr/outputs.pt", "sr/checkpoints/best.ckpt", "sr/fold0/checkpoints/best.ckpt"):
        assert (run / name).is_file(), name


@pytest.mark.slow
def test_a_variant_reuses_another_runs_sr_stage(run, tmp_path):
    import yaml

    data = yaml.safe_load((run / "config.yaml").read_text())["data"]
    lrcn("train", "describe", "--data", data, "--variant", "direct", "--out", tmp_path / "direct", "--sr-from", run,
         "--epochs", 1)
    assert (tmp_path / "direct" / "sr" / "pca.pt").read_bytes() == (run / "sr" / "pca.pt").read_bytes()


def test_eval_writes_bleu_and_sr_accuracy(run):
    out = lrcn("eval", "describe", run)
    metrics = json.loads((run / "metrics.json").read_text())
    assert {"bleu4", "meteor", "cider"} <= set(metrics)
    assert set(metrics["sr_accuracy"]) == {"activity", "tool", "object", "source", "target", "tuple"}
    assert all(0 <= v <= 1 for v in metrics["sr_accuracy"].values())
    assert "bleu4" in out.stdout


def test_describe_any_container_and_bad_inputs_in_one_batch(run, tmp_path):
    import numpy as np

    clip = render_interval(("cut", "knife", "carrot", "board", "plate"), 12, np.random.default_rng(0))
    write_video(tmp_path / "clip.mp4", clip)
    write_video(tmp_path / "clip.mkv", clip)
    (tmp_path / "empty.avi").write_bytes(b"")
    (tmp_path / "text.avi").write_text("not a video")
    locked = locked_copy(tmp_path / "clip.mp4", tmp_path / "locked.mp4")
    paths = [tmp_path / "clip.mp4", tmp_path / "empty.avi", tmp_path / "text.avi", tmp_path / "missing.avi",
             tmp_path / "clip.mkv", locked]
    out = lrcn("describe", run, *paths, "--json", check=False, as_non_root=True)
    assert out.returncode == 1
    assert "Traceback" not in out.stderr
    lines = [json.loads(line) for line in out.stdout.splitlines()]
    assert [line["path"] for line in lines] == list(map(str, paths))
    for good in (lines[0], lines[4]):
        assert good["sentence"] and set(good["sr"]) == {"activity", "tool", "object", "source", "target"}
        assert all(0 < v["prob"] <= 1 for v in good["sr"].values())
    assert "empty" in lines[1]["error"] and "not" in lines[2]["error"] and "no such file" in lines[3]["error"].lower()
    assert "permission denied" in lines[5]["error"] or not CAN_LOCK_FILES


def test_python_api_and_wrong_run_folder(run, tmp_path):
    import lrcn as api
    from lrcn.errors import LrcnError

    with pytest.raises(LrcnError, match="not a run folder"):
        api.load(tmp_path)
    out = lrcn("describe", tmp_path, tmp_path / "x.avi", check=False)
    assert out.returncode == 1 and "not a run folder" in out.stderr and "Traceback" not in out.stderr


def test_sr_from_a_folder_without_an_sr_stage_is_one_clear_error(tmp_path):
    out = lrcn("train", "describe", "--data", tmp_path, "--variant", "crf-max", "--out", tmp_path / "r",
               "--sr-from", tmp_path, check=False)
    assert out.returncode == 1 and "no finished SR stage" in out.stderr and "Traceback" not in out.stderr
    out = lrcn("train", "describe", "--data", tmp_path, "--variant", "crf-mean", "--out", tmp_path / "r", check=False)
    assert out.returncode == 1 and "choose from" in out.stderr


def test_resume_continues_the_generator_and_keeps_the_sr_stage(run):
    import torch

    def last():
        return torch.load(run / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=True)

    before, stage = last(), (run / "sr" / "outputs.pt").read_bytes()
    lrcn("train", "describe", "--out", run, "--resume", "--epochs", 3)
    after = last()
    assert after["epoch"] == before["epoch"] + 1 and after["global_step"] > before["global_step"]
    assert (run / "sr" / "outputs.pt").read_bytes() == stage  # the finished SR stage was not trained again
    again = lrcn("train", "describe", "--data", run.parent / "kitchen", "--out", run, check=False)
    assert again.returncode == 1 and "--resume" in again.stderr and "Traceback" not in again.stderr
