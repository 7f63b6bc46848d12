"""End to end through the real CLI on a tiny UCF101-layout set (a square moving left or right)."""
import csv
import json
import os

import numpy as np
import pytest
import yaml

from activity_data import moving_square, write_ucf101
from cli import CAN_LOCK_FILES, locked_copy, lrcn
from lrcn.data.video import write_video

pytestmark = pytest.mark.cpu_kinds  # make test runs these again held to AVX2

TINY = ["--image-size", "96", "--pca", "0", "--fc6", "64", "--hidden", "32", "--batch-size", "8", "--workers", "0"]


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    # One thread: on a shared, loaded machine, two-thread matmuls of a tiny head spin and run 10x slower.
    return {**os.environ, "LRCN_CACHE": str(tmp_path_factory.mktemp("cache")), "OMP_NUM_THREADS": "1"}


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = write_ucf101(tmp_path_factory.mktemp("ucf") / "UCF101", groups=10, test_groups=2)
    lists = root / "ucfTrainTestlist"
    (root / "MoveLeft" / "v_MoveLeft_g01_c02.avi").write_bytes(os.urandom(3000))  # broken
    with open(lists / "trainlist01.txt", "a") as f:
        f.write("MoveLeft/v_MoveLeft_g01_c02.avi 1\nMoveRight/v_MoveRight_g99_c01.avi 2\n")  # broken, missing
    return root


@pytest.fixture(scope="module")
def run(tmp_path_factory, data, env):
    run = tmp_path_factory.mktemp("runs") / "lrcn"
    out = lrcn("train", "activity", "--data", data, "--out", run, "--epochs", 12, *TINY, env=env)
    (run / "train.stderr").write_text(out.stderr)
    return run


def test_train_skips_broken_videos_names_them_and_writes_a_run_folder(run):
    skipped = (run / "skipped.txt").read_text().splitlines()
    assert len(skipped) == 2
    assert any("v_MoveLeft_g01_c02.avi" in s for s in skipped) and any("v_MoveRight_g99_c01.avi" in s for s in skipped)
    stderr = (run / "train.stderr").read_text()
    assert "skipped:" in stderr and "Traceback" not in stderr
    assert (run / "checkpoints" / "last.ckpt").is_file()
    assert yaml.safe_load((run / "config.yaml").read_text())["task"] == "activity"
    assert (run / "logs" / "metrics.csv").is_file()


def test_eval_writes_metrics_confusion_and_per_video_scores(run, env):
    out = lrcn("eval", "activity", run, env=env)
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["video_acc"] == 1.0  # left vs right of a bright square: trivially separable through time
    assert metrics["num_videos"] == 4 and metrics["num_clips"] == 8  # 20 frames: clips at 0 and 4
    assert set(metrics["per_class"]) == {"MoveLeft", "MoveRight"}
    assert (run / "confusion.png").is_file()
    scores = np.load(run / "scores.npz")
    assert scores["scores"].shape == (4, 2)
    np.testing.assert_allclose(scores["scores"].sum(1), 1, rtol=1e-5)
    assert "video accuracy" in out.stdout


@pytest.mark.slow
def test_eval_fuses_two_runs_and_ten_crops_work(run, env):
    lrcn("eval", "activity", run, "--crops", "10", "--fuse", run, "--weights", "0.33,0.67", env=env)
    fused = json.loads((run / "fusion-0.33-0.67.json").read_text())
    assert fused["weights"] == [0.33, 0.67] and fused["crops"] == 10 and fused["num_videos"] == 4


def test_classify_answers_good_videos_and_one_line_per_bad_input(run, data, env, tmp_path):
    good = data / "MoveRight" / "v_MoveRight_g06_c01.avi"
    one_frame = tmp_path / "one.mp4"
    write_video(one_frame, moving_square(1, np.random.default_rng(1))[:1])
    odd = tmp_path / "odd.mkv"
    write_video(odd, np.random.default_rng(2).integers(0, 255, (20, 30, 90, 3), dtype=np.uint8))
    truncated = tmp_path / "truncated.avi"
    truncated.write_bytes(good.read_bytes()[:300])
    empty = tmp_path / "empty.avi"
    empty.touch()
    text = tmp_path / "notes.avi"
    text.write_text("not a video\n" * 50)
    loop = tmp_path / "loop.avi"
    loop.symlink_to(loop)
    inputs = [good, tmp_path / "missing.avi", one_frame, empty, text, tmp_path, loop, truncated, odd]
    out = lrcn("classify", run, *inputs, "--json", "--top-k", "2", env=env, check=False)
    assert out.returncode == 1 and "Traceback" not in out.stderr
    lines = [json.loads(line) for line in out.stdout.splitlines()]
    assert [d["path"] for d in lines] == list(map(str, inputs))
    answered = {d["path"] for d in lines if "label" in d}
    assert answered == {str(good), str(one_frame), str(odd)}
    assert lines[0]["label"] == "MoveRight" and len(lines[0]["top"]) == 2
    for d in lines:
        if "error" in d:
            assert d["path"] in d["error"] and "\n" not in d["error"]
    assert len(out.stderr.strip().splitlines()) == 6


@pytest.mark.skipif(not CAN_LOCK_FILES, reason="root without setpriv reads any file")
def test_classify_unreadable_file_is_one_line_and_the_batch_goes_on(run, data, env, tmp_path):
    good = data / "MoveLeft" / "v_MoveLeft_g06_c01.avi"
    locked = locked_copy(good, tmp_path / "locked.avi")
    out = lrcn("classify", run, locked, good, "--json", env=env, check=False, as_non_root=True)
    assert out.returncode == 1 and "Traceback" not in out.stderr
    assert out.stderr.strip() == f"error: {locked}: permission denied"
    lines = [json.loads(line) for line in out.stdout.splitlines()]
    assert "permission denied" in lines[0]["error"] and lines[1]["label"] in ("MoveLeft", "MoveRight")


@pytest.mark.slow
def test_python_api_matches_the_cli(run, data, env):
    import lrcn as api

    video = data / "MoveLeft" / "v_MoveLeft_g05_c01.avi"
    answer = api.load(run).predict(video)
    line = json.loads(lrcn("classify", run, video, "--json", env=env).stdout)
    assert answer["label"] == line["label"] and answer["score"] == pytest.approx(line["score"], abs=1e-6)


@pytest.mark.slow
def test_resume_continues_from_last_checkpoint(run, data, env):
    import torch

    def last():
        return torch.load(run / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=False)

    before = last()
    lrcn("train", "activity", "--out", run, "--data", data, "--resume", "--epochs", 14, env=env)
    after = last()
    assert after["epoch"] == before["epoch"] + 2
    assert after["global_step"] > before["global_step"]
    with open(run / "logs" / "metrics.csv", newline="") as f:
        logged = {int(row["epoch"]) for row in csv.DictReader(f) if row["epoch"]}
    assert logged == set(range(after["epoch"] + 1))  # the first session's epochs are still in the log
    again = lrcn("train", "activity", "--data", data, "--out", run, env=env, check=False)
    assert again.returncode == 1 and "--resume" in again.stderr


def test_train_rejects_bad_flags_and_data_with_one_line(tmp_path, env):
    out = lrcn("train", "activity", "--data", tmp_path / "nope", "--out", tmp_path / "r", env=env, check=False)
    assert out.returncode == 1 and "no such data folder" in out.stderr and "Traceback" not in out.stderr


def test_time_reversal_is_refused_for_flow_whose_vectors_it_cannot_negate(data, env, tmp_path):
    out = lrcn("train", "activity", "--data", data, "--out", tmp_path / "r", "--modality", "flow",
               "--reverse-pair", "MoveLeft:MoveRight", "--epochs", 1, *TINY, env=env, check=False)
    assert out.returncode == 1 and "--reverse-pair" in out.stderr and "Traceback" not in out.stderr
    assert not (tmp_path / "r" / "checkpoints").exists()


@pytest.mark.slow
def test_flip_with_mirror_pairs_trains_on_mirrored_views_and_ten_crops_need_no_flag(data, env, tmp_path):
    # Left vs right is all this data set is: without the label swap, mirrored views would teach the opposite class.
    run = tmp_path / "flip"
    lrcn("train", "activity", "--data", data, "--out", run, "--flip", "--mirror-pair", "MoveLeft:MoveRight",
         "--epochs", 12, *TINY, env=env)
    config = yaml.safe_load((run / "config.yaml").read_text())
    assert config["data"]["flip"] is True and config["train"]["mirror_pairs"] == ["MoveLeft:MoveRight"]
    lrcn("eval", "activity", run, "--crops", "10", env=env)
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["crops"] == 10 and metrics["num_videos"] == 4
    assert metrics["video_acc"] == 1.0  # unswapped, the 5 mirrored crops would cancel the 5 plain ones


def test_an_unknown_mirror_pair_class_is_one_line(data, env, tmp_path):
    out = lrcn("train", "activity", "--data", data, "--out", tmp_path / "r", "--flip", "--mirror-pair", "MoveLeft:Jump",
               "--epochs", 1, *TINY, env=env, check=False)
    assert out.returncode == 1 and "Traceback" not in out.stderr
    auto, error = out.stderr.strip().splitlines()  # what auto resolved to here, then the error
    assert auto.startswith("auto: --engine openvino")
    assert error == f"error: --mirror-pair MoveLeft:Jump: expected two different class names A:B of {data}"
    assert not (tmp_path / "r" / "checkpoints").exists()


@pytest.mark.slow
def test_two_streams_train_evaluate_fused_and_classify_fused(run, data, env, tmp_path):
    flow = tmp_path / "flow"
    lrcn("train", "activity", "--data", data, "--out", flow, "--modality", "flow", "--epochs", 12, *TINY, env=env)
    lrcn("eval", "activity", run, "--fuse", flow, "--weights", "0.5,0.5", env=env)
    fused = json.loads((run / "fusion-0.5-0.5.json").read_text())
    assert fused["fused_with"] == str(flow) and fused["num_videos"] == 4
    video = data / "MoveLeft" / "v_MoveLeft_g10_c01.avi"
    one = json.loads(lrcn("classify", run, video, "--json", env=env).stdout)
    other = json.loads(lrcn("classify", flow, video, "--json", env=env).stdout)
    both = json.loads(lrcn("classify", run, "--fuse", flow, "--weights", "0.5,0.5", video, "--json", env=env).stdout)
    score = {t["label"]: t["score"] for t in both["top"]}
    for label in score:
        expected = 0.5 * {t["label"]: t["score"] for t in one["top"]}[label] + 0.5 * {t["label"]: t["score"] for t in other["top"]}[label]
        assert score[label] == pytest.approx(expected, abs=1e-5)


@pytest.mark.skipif(not CAN_LOCK_FILES, reason="root without setpriv reads any file")
def test_train_skips_an_unreadable_video_and_names_it(tmp_path, env):
    data = write_ucf101(tmp_path / "UCF101", groups=3, test_groups=1)
    video = data / "MoveLeft" / "v_MoveLeft_g01_c01.avi"
    video.chmod(0)
    out = lrcn("train", "activity", "--data", data, "--out", tmp_path / "r", "--epochs", 1, *TINY, env=env,
               as_non_root=True)
    skipped = (tmp_path / "r" / "skipped.txt").read_text().splitlines()
    assert skipped == [f"{video}: permission denied"] and "Traceback" not in out.stderr
