"""One predictor contract for the three tasks: the CLI's --json, lrcn.load(RUN) and lrcn.load(EXPORT) give the same
answers; any input kind; a bad input in a batch answers alone; prediction never writes; an export travels. Trained
and predicted on ``pytest --device`` (auto; bench/gpu_check.py: cuda)."""
import json
import shutil

import numpy as np
import pytest
from PIL import Image

import lrcn as api
from activity_data import write_ucf101
from cli import CAN_LOCK_FILES, lrcn
from lrcn.config import resolve
from lrcn.data.synthetic.kitchen import KitchenConfig, write_kitchen
from lrcn.data.synthetic.scenes import write_scenes
from lrcn.errors import LrcnError

pytestmark = pytest.mark.cpu_kinds  # make test runs these again held to AVX2

TASKS = ("activity", "caption", "describe")
COMMAND = {"activity": "classify", "caption": "caption", "describe": "describe"}


def train_activity(root, cache, device="auto"):
    from lrcn.tasks.activity.config import ActivityConfig
    from lrcn.tasks.activity.train import train

    data = write_ucf101(root / "ucf", groups=4, test_groups=1)
    cfg = resolve(ActivityConfig, {"data.root": data, "data.workers": 0, "features.image_size": 64, "model.pca": 0,
                                   "model.fc6": 16, "model.hidden": 8, "data.batch_size": 4, "train.epochs": 2})
    train(cfg, root / "run", cache=cache, progress=False, device=device)
    return root / "run", data / "MoveLeft" / "v_MoveLeft_g04_c01.avi"


def train_caption(root, cache, device="auto"):
    from lrcn.tasks.caption.config import CaptionConfig
    from lrcn.tasks.caption.train import train

    data = write_scenes(root / "scenes", seed=0, num_train=24, num_val=6, num_test=6, image_size=64, workers=1)
    cfg = resolve(CaptionConfig, {"data.root": data, "features.image_size": 56, "data.min_count": 1,
                                  "data.images_per_batch": 8, "data.workers": 0, "model.embed_dim": 16,
                                  "model.hidden": 16, "model.image_dim": 16, "train.epochs": 2})
    train(cfg, root / "run", cache=cache, progress=False, device=device)
    return root / "run", sorted((data / "images").glob("*.jpg"))[0]


def train_describe(root, cache, device="auto"):
    from lrcn.tasks.describe.config import DescribeConfig
    from lrcn.tasks.describe.train import train

    data = write_kitchen(root / "kitchen", seed=0, cfg=KitchenConfig(sessions=5, intervals_per_session=3,
                                                                      frames_per_interval=8), workers=1)
    cfg = resolve(DescribeConfig, {"data.root": data, "train.epochs": 2, "sr.epochs": 2})
    train(cfg, root / "run", cache=cache, progress=False, device=device)
    return root / "run", sorted((data / "videos").glob("*.avi"))[0]


@pytest.fixture(scope="module", params=TASKS)
def trained(request, tmp_path_factory, device):
    root = tmp_path_factory.mktemp(request.param)
    run, sample = globals()[f"train_{request.param}"](root, root / "cache", device)
    return request.param, run, sample, root / "cache"


def tree(path):
    """Every file below ``path`` with its size and modification time: what a write would change."""
    return {str(p): (p.stat().st_size, p.stat().st_mtime_ns) for p in sorted(path.rglob("*"))}


def without_path(answer):
    return {k: v for k, v in answer.items() if k != "path"}


def test_the_cli_the_run_and_its_export_give_the_same_answers(trained, tmp_path, device):
    task, run, sample, cache = trained
    bad = tmp_path / "broken.bin"
    bad.write_bytes(b"not media" * 10)
    out = lrcn(COMMAND[task], run, sample, bad, "--json", "--device", device, check=False)
    cli = [json.loads(line) for line in out.stdout.splitlines()]
    assert cli[0]["path"] == str(sample) and "error" not in cli[0]
    assert cli[1]["path"] == str(bad) and "broken.bin" in cli[1]["error"]
    before = tree(run)
    from_run = api.load(run, device=device).predict(sample)
    assert tree(run) == before  # prediction wrote nothing into the run folder
    assert from_run == cli[0]
    out = lrcn("export", run, tmp_path / "export").stdout
    assert "export" in out and {p.name for p in (tmp_path / "export").iterdir()} >= {"config.json", "model.safetensors",
                                                                                    "README.md"}
    travelled = tmp_path / "elsewhere"
    shutil.copytree(tmp_path / "export", travelled)
    shutil.rmtree(tmp_path / "export")
    copy = tmp_path / "run-copy"
    shutil.copytree(run, copy)  # the module's other tests still need the run: delete a copy's original instead
    shutil.rmtree(cache, ignore_errors=True)
    loaded = api.load(travelled, device=device)
    assert loaded.task == task and loaded.predict(sample) == from_run
    shutil.copytree(copy, run, dirs_exist_ok=True)


def test_any_input_kind_gives_the_answer_of_its_file(trained, device):
    task, run, sample, _ = trained
    predictor = api.load(run, device=device)
    expected = without_path(predictor.predict(sample))
    assert predictor.predict(sample.read_bytes()) == expected  # an upload: no path to name
    if task == "caption":
        assert predictor.predict(Image.open(sample)) == expected
        assert predictor.predict(np.asarray(Image.open(sample).convert("RGB"))) == expected
    else:
        from lrcn.data.video import read_video

        answer = predictor.predict(read_video(sample))  # decoded frames: resized by the same scaler, not the decoder
        assert set(answer) == set(expected)
    assert predictor.predict(sample.read_bytes(), name="upload.bin")["path"] == "upload.bin"
    info = predictor.info()
    assert info["task"] == task and info["name"] == run.name and "config" in info


def test_a_batch_answers_each_input_alone_and_in_order(trained, tmp_path, device):
    task, run, sample, _ = trained
    predictor = api.load(run, device=device)
    empty = tmp_path / "empty"
    empty.touch()
    answers = predictor.predict_many([sample, empty, tmp_path / "missing", sample.read_bytes(), b""])
    assert [a.get("path") for a in answers] == [str(sample), str(empty), str(tmp_path / "missing"), None, None]
    assert answers[0] == predictor.predict(sample) and without_path(answers[0]) == answers[3]
    for bad in (answers[1], answers[2], answers[4]):
        assert set(bad) <= {"path", "error"} and "\n" not in bad["error"]
    assert "empty" in answers[1]["error"] and "no such file" in answers[2]["error"] and "0 bytes" in answers[4]["error"]
    with pytest.raises(LrcnError, match="no such file"):
        predictor.predict(tmp_path / "missing")


@pytest.mark.skipif(not CAN_LOCK_FILES, reason="root without setpriv writes anywhere")
def test_a_read_only_run_folder_still_predicts(trained, tmp_path, device):
    task, run, sample, cache = trained
    locked = tmp_path / "ro"
    shutil.copytree(run, locked)
    for p in [locked, *locked.rglob("*")]:
        p.chmod(0o555 if p.is_dir() else 0o444)
    try:
        out = lrcn(COMMAND[task], locked, sample, "--json", "--device", device, as_non_root=True)
        assert "error" not in json.loads(out.stdout)
    finally:
        for p in [locked, *locked.rglob("*")]:
            p.chmod(0o755 if p.is_dir() else 0o644)


def test_a_model_of_another_task_is_one_line(trained, tmp_path):
    task, run, sample, _ = trained
    other = "caption" if task != "caption" else "activity"
    out = lrcn(COMMAND[other], run, sample, check=False)
    article = {"activity": "an", "caption": "a", "describe": "a"}
    assert out.returncode == 1
    assert out.stderr.strip() == f"error: {run}: {article[task]} {task} model, not {article[other]} {other} model"
    with pytest.raises(LrcnError, match="model takes no option colour"):
        api.load(run, colour="red")


def test_the_live_stream_carries_the_lstm_and_matches_the_whole_video_timeline(trained, device):
    task, run, sample, _ = trained
    if task != "activity":
        pytest.skip("live streams are activity recognition's")
    from lrcn.data.video import read_video

    frames = read_video(sample)
    whole = np.array(api.load(run, timeline=True, device=device).predict(frames)["timeline"])  # (T, C)
    live = api.load(run, device=device).stream()
    pushed = np.concatenate([live.push(frames[i : i + 7]) for i in range(0, len(frames), 7)])  # 7 frames at a time
    assert pushed.shape == whole.shape and live.frames == len(frames)
    np.testing.assert_allclose(pushed, whole, atol=2e-3)  # the same function; the CNN's batches differ in size
    live.reset()
    np.testing.assert_allclose(live.push(frames[:3]), pushed[:3], atol=2e-3)


def test_options_change_per_call_without_reloading_the_model(trained, device):
    task, run, sample, _ = trained
    predictor = api.load(run, device=device)
    option = {"activity": {"top_k": 1}, "caption": {"beam": 2}, "describe": {"beam": 2}}[task]
    other = predictor.with_options(**option)
    assert other.model is predictor.model if hasattr(other, "model") else other.streams is predictor.streams
    answer = other.predict(sample)
    assert (len(answer["top"]) == 1) if task == "activity" else ("alternatives" in answer)
    assert predictor.predict(sample) == api.load(run, device=device).predict(sample)  # the original keeps its options
    with pytest.raises(LrcnError, match="unknown"):
        predictor.with_options(colour="red")


def test_retrieval_ranks_sentences_and_images_by_the_captioners_likelihood(trained, device):
    task, run, sample, _ = trained
    if task != "caption":
        pytest.skip("retrieval is the captioner's")
    from lrcn.data.coco import read_karpathy

    items = [it for it in read_karpathy(sample.parent.parent / "dataset_scenes.json", sample.parent.parent)][:3]
    predictor = api.load(run, device=device)
    ranked = predictor.rank([it.path for it in items], [it.captions[0] for it in items])
    assert np.array(ranked["scores"]).shape == (3, 3) and ranked["normalised"]
    assert all(sorted(row) == [0, 1, 2] for row in ranked["annotation"] + ranked["search"])
    one = predictor.rank([items[0].path.read_bytes()], ["a red circle", "two blue squares"])
    assert not one["normalised"] and len(one["annotation"][0]) == 2
    with pytest.raises(LrcnError, match="at least one image and one sentence"):
        predictor.rank([], ["x"])
