"""``lrcn export RUN OUT --format onnx`` and the runner of examples/onnx/, which runs the graphs in a process where
``import torch`` (and ``import lrcn``) fail: it gives ``lrcn classify``'s labels, top-k order and probabilities
(within 1e-3 where both run fp32: lrcn held to AVX2; within the bf16 tolerance of tests/test_cpu_kinds.py where lrcn's
CNN runs bf16), ``lrcn classify --timeline``'s last row live, and ``lrcn caption``'s captions, greedy and beam.

Not marked cpu_kinds: the tests that compare with lrcn in fp32 hold it to AVX2 themselves, and held to AVX2 the
native comparison is that same one. Captions are compared in fp32 only: with bf16 CNN features a tiny captioner's
greedy words flip on near-ties (measured here: 24 of 36 captions equal), as lrcn's own bf16 and fp32 captions do."""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from activity_data import write_ucf101
from cli import lrcn

from lrcn.config import resolve
from lrcn.hardware import cpu

RUNNER = Path(__file__).resolve().parent.parent / "examples" / "onnx"
HELD_TO_AVX2 = {"ONEDNN_MAX_CPU_ISA": "AVX2", "MKL_ENABLE_INSTRUCTIONS": "AVX2", "ATEN_CPU_CAPABILITY": "avx2"}
FP32 = 1e-3  # |Δp|, the runner's fp32 graphs against lrcn in fp32
BF16 = 0.05  # |Δp|, against lrcn's bf16 CNN features (tests/test_cpu_kinds.py; measured up to 0.03)


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    return {**os.environ, "LRCN_CACHE": str(tmp_path_factory.mktemp("cache")), "OMP_NUM_THREADS": "1"}


@pytest.fixture(scope="module")
def held(env, tmp_path_factory):
    return {**env, **HELD_TO_AVX2, "LRCN_CACHE": str(tmp_path_factory.mktemp("cache-avx2"))}


@pytest.fixture(scope="module")
def no_torch(tmp_path_factory):
    """An environment whose Python cannot import torch or lrcn: what the runner must live with."""
    blocked = tmp_path_factory.mktemp("blocked")
    for name in ("torch", "lrcn"):
        (blocked / name).mkdir()
        (blocked / name / "__init__.py").write_text(f"raise ImportError('{name} is blocked: the runner must not need it')\n")
    return {**os.environ, "PYTHONPATH": str(blocked), "OMP_NUM_THREADS": "1"}


def runner(script, *args, env, check=True):
    out = subprocess.run([sys.executable, str(RUNNER / script), *map(str, args)], capture_output=True, text=True,
                         env=env)
    assert "Traceback" not in out.stderr, out.stderr
    if check:
        assert out.returncode == 0, out.stderr
    return out


@pytest.fixture(scope="module")
def one_thread():
    """Train in this process on one thread: on a shared, loaded machine two-thread matmuls of a tiny net spin."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def lines(out):
    return [json.loads(line) for line in out.stdout.splitlines()]


@pytest.fixture(scope="module")
def activity(tmp_path_factory, env, one_thread):
    """A confident tiny LRCN (every test video right), exported with both payloads; its four test videos."""
    from lrcn.tasks.activity.config import ActivityConfig
    from lrcn.tasks.activity.train import train

    root = tmp_path_factory.mktemp("activity")
    data = write_ucf101(root / "UCF101", groups=10, test_groups=2)
    cfg = resolve(ActivityConfig, {"data.root": data, "data.workers": 0, "features.image_size": 96, "model.pca": 0,
                                   "model.fc6": 64, "model.hidden": 32, "data.batch_size": 8, "train.epochs": 12})
    train(cfg, root / "run", cache=Path(env["LRCN_CACHE"]), progress=False)
    out = lrcn("export", root / "run", root / "export", "--format", "both", env=env)
    return root / "run", root / "export", sorted(data.glob("*/*_g09_c01.avi")) + sorted(data.glob("*/*_g10_c01.avi")), out


@pytest.fixture(scope="module")
def caption(tmp_path_factory, env, one_thread):
    """A tiny captioner trained to say something about its training scenes, exported as ONNX only; some images."""
    from lrcn.data.synthetic.scenes import write_scenes
    from lrcn.tasks.caption.config import CaptionConfig
    from lrcn.tasks.caption.train import train

    root = tmp_path_factory.mktemp("caption")
    data = write_scenes(root / "scenes", seed=0, num_train=24, num_val=6, num_test=6, image_size=64, workers=1)
    cfg = resolve(CaptionConfig, {"data.root": data, "features.image_size": 56, "data.min_count": 1,
                                  "data.images_per_batch": 8, "data.workers": 0, "model.embed_dim": 64,
                                  "model.hidden": 64, "model.image_dim": 64, "model.dropout": 0.0, "train.lr": 3e-3,
                                  "train.epochs": 60})
    train(cfg, root / "run", cache=Path(env["LRCN_CACHE"]), progress=False)
    lrcn("export", root / "run", root / "export", "--format", "onnx", env=env)
    return root / "run", root / "export", sorted((data / "images").glob("*.jpg"))[::3]


@pytest.fixture(scope="module")
def describe(tmp_path_factory, env, one_thread):
    """A tiny describe run (SR stage, CRF, crf-prob generator), exported as ONNX only; its videos. Whitened onto 16
    components: 256 of 120 training frames amplify a feature's float16 rounding flip (ONNX Runtime's fp32 and
    OpenVINO's differ in the last bit) into 3e-3 of a marginal, as lrcn's own two fp32 engines then differ."""
    from lrcn.data.synthetic.kitchen import KitchenConfig, write_kitchen
    from lrcn.tasks.describe.config import DescribeConfig
    from lrcn.tasks.describe.train import train

    root = tmp_path_factory.mktemp("describe")
    data = write_kitchen(root / "kitchen", seed=0, cfg=KitchenConfig(sessions=5, intervals_per_session=3,
                                                                      frames_per_interval=8), workers=1)
    cfg = resolve(DescribeConfig, {"data.root": data, "features.image_size": 96, "sr.pca": 16, "sr.epochs": 10,
                                   "train.epochs": 10})
    train(cfg, root / "run", cache=Path(env["LRCN_CACHE"]), progress=False)
    lrcn("export", root / "run", root / "export", "--format", "onnx", env=env)
    return root / "run", root / "export", sorted((data / "videos").glob("*.avi"))


def scores(answer):
    return {t["label"]: t["score"] for t in answer["top"]}


def same_answers(ours, theirs, tolerance):
    assert [a["path"] for a in ours] == [a["path"] for a in theirs]
    for a, b in zip(ours, theirs):
        assert a["label"] == b["label"] and [t["label"] for t in a["top"]] == [t["label"] for t in b["top"]]
        assert a["frames"] == b["frames"]
        assert max(abs(scores(a)[k] - scores(b)[k]) for k in scores(a)) <= tolerance, (a, b)


def test_the_export_writes_both_payloads_and_says_its_parity(activity):
    import lrcn as api
    from lrcn.deploy.graph import sha256

    run, out, videos, printed = activity
    assert {p.name for p in out.iterdir()} == {"config.json", "README.md", "model.safetensors", "cnn.onnx", "step.onnx"}
    parity = printed.stdout.splitlines()[-1]
    assert parity.startswith("onnx: cnn.onnx, step.onnx (opset 18, fp32); parity on an embedded synthetic video")
    onnx = json.loads((out / "config.json").read_text())["onnx"]
    assert onnx["parity"]["max_abs_dprob"] <= FP32 and onnx["classes"] == ["MoveLeft", "MoveRight"]
    assert onnx["input"]["image_size"] == 96 and onnx["input"]["decode_size"] == 110
    assert onnx["clip"]["length"] == 16 and onnx["clip"]["stride"] == 8
    assert [s["name"] for s in onnx["state"]] == ["h1", "c1"] and onnx["state"][0]["shape"] == ["N", 32]
    assert onnx["graphs"]["step"]["inputs"]["features"] == ["N", "T", 11520]
    for graph in onnx["graphs"].values():
        assert sha256(out / graph["file"]) == graph["sha256"]
    assert api.load(out).predict(videos[0]) == api.load(run).predict(videos[0])  # the safetensors payload unchanged


def test_the_runner_without_torch_gives_lrcn_classify_answers_in_fp32(activity, held, no_torch):
    run, out, videos, _ = activity
    assert subprocess.run([sys.executable, "-c", "import torch"], env=no_torch, capture_output=True).returncode == 1
    theirs = lines(lrcn("classify", run, *videos, "--json", "--top-k", "2", "--timeline", env=held))
    assert [a["label"] for a in theirs] == [v.parent.name for v in videos]
    ours = lines(runner("classify.py", out, *videos, "--json", "--top-k", "2", env=no_torch))
    same_answers(ours, [{k: v for k, v in a.items() if k != "timeline"} for a in theirs], FP32)
    for video, answer in zip(videos[:2], theirs):  # live: the state carried frame by frame, T = 1 per step
        last = lines(runner("watch.py", out, video, "--json", "--every", "5", env=no_torch))[-1]
        assert last["frame"] == answer["frames"] - 1
        assert max(abs(s - t) for s, t in zip([scores(last)[c] for c in ("MoveLeft", "MoveRight")],
                                              answer["timeline"][-1])) <= FP32  # the timeline is rounded to 4 places


def test_openvino_reads_the_same_graphs(activity, no_torch):
    _, out, videos, _ = activity
    onnxruntime = lines(runner("classify.py", out, *videos, "--json", env=no_torch))
    same_answers(lines(runner("classify.py", out, *videos, "--json", "--provider", "openvino", env=no_torch)),
                 onnxruntime, FP32)


def test_the_runner_gives_lrcn_classify_labels_where_lrcn_runs_its_cnn_natively(activity, env, no_torch):
    run, out, videos, _ = activity
    theirs = lines(lrcn("classify", run, *videos, "--json", "--top-k", "2", env=env))
    ours = lines(runner("classify.py", out, *videos, "--json", "--top-k", "2", env=no_torch))
    same_answers(ours, theirs, BF16 if cpu().bf16 else FP32)


def test_the_caption_runner_without_torch_gives_lrcn_captions_greedy_and_beam(caption, held, no_torch):
    run, out, images = caption
    for beam in ("1", "3"):
        theirs = lines(lrcn("caption", run, *images, "--json", "--beam", beam, env=held))
        ours = lines(runner("caption.py", out, *images, "--json", "--beam", beam, env=no_torch))
        assert [a["caption"] for a in ours] == [a["caption"] for a in theirs]
        assert all(abs(a["logprob"] - b["logprob"]) <= 1e-3 for a, b in zip(ours, theirs))
        if beam != "1":
            assert [[x["caption"] for x in a["alternatives"]] for a in ours] == \
                   [[x["caption"] for x in a["alternatives"]] for a in theirs]
    assert len({a["caption"] for a in ours}) > 1  # the captions depend on the image


def test_the_describe_runner_without_torch_gives_lrcn_describe_sentences_and_sr(describe, held, no_torch):
    run, out, videos = describe
    onnx = json.loads((out / "config.json").read_text())["onnx"]
    assert set(onnx["graphs"]) == {"cnn", "encode", "step"} and onnx["frames"]["count"] == 16
    assert [s["name"] for s in onnx["slots"]] == ["activity", "tool", "object", "source", "target"]
    theirs = lines(lrcn("describe", run, *videos, "--json", env=held))
    ours = lines(runner("describe.py", out, *videos, "--json", env=no_torch))
    assert [a["sentence"] for a in ours] == [a["sentence"] for a in theirs]
    for a, b in zip(ours, theirs):
        assert {s: v["label"] for s, v in a["sr"].items()} == {s: v["label"] for s, v in b["sr"].items()}
        assert max(abs(a["sr"][s]["prob"] - b["sr"][s]["prob"]) for s in a["sr"]) <= FP32


def test_bad_input_to_the_runner_is_one_line_each(activity, caption, no_torch, tmp_path):
    run, out, videos, _ = activity
    text = tmp_path / "notes.avi"
    text.write_text("not a video\n" * 50)
    answers = runner("classify.py", out, videos[0], text, tmp_path / "missing.avi", "--json", env=no_torch,
                     check=False)
    assert answers.returncode == 1 and len(answers.stderr.splitlines()) == 2
    good, undecodable, missing = lines(answers)
    assert "label" in good and undecodable["error"].startswith(f"{text}: not a decodable video")
    assert missing["error"] == f"{tmp_path / 'missing.avi'}: no such file"
    damaged = tmp_path / "damaged"
    shutil.copytree(out, damaged)
    with open(damaged / "step.onnx", "r+b") as f:
        f.seek(-100, os.SEEK_END)
        f.write(b"\0" * 10)
    plain = tmp_path / "plain"
    plain.mkdir()
    (plain / "config.json").write_text(json.dumps({"format": "lrcn", "version": 1, "task": "activity"}))
    for folder, error in [(run, f"{run}: not an lrcn export (no config.json)"),
                          (plain, (f"{plain}: not an ONNX export of lrcn (config.json has no \"onnx\" section; write "
                                   "one with lrcn export RUN OUT --format onnx)")),
                          (caption[1], f"{caption[1]}: a caption model, not an activity model")]:
        bad = runner("classify.py", folder, videos[0], env=no_torch, check=False)
        assert bad.returncode == 1 and bad.stderr == f"error: {error}\n" and not bad.stdout
    bad = runner("watch.py", damaged, videos[0], env=no_torch, check=False)
    assert bad.returncode == 1 and bad.stderr.startswith(f"error: {damaged / 'step.onnx'}: sha256 ")
    assert bad.stderr.strip().endswith("is not config.json's " + json.loads((out / "config.json").read_text())["onnx"][
        "graphs"]["step"]["sha256"][:12] + "...: the graph was changed or damaged")
    images = runner("caption.py", caption[1], caption[2][0], text, env=no_torch, check=False)
    assert images.returncode == 1 and images.stderr == f"error: {text}: not an image (no image format recognised)\n"
    assert images.stdout.startswith(f"{caption[2][0]}: ")


def test_lrcn_refuses_what_it_cannot_export_or_load_in_one_line(activity, caption, env, tmp_path):
    from lrcn.bundle import export
    from lrcn.errors import LrcnError

    run, _, videos, _ = activity
    loaded = lrcn("classify", caption[1], videos[0], env=env, check=False)  # an ONNX-only export
    assert loaded.returncode == 1 and loaded.stderr.strip() == (
        f"error: {caption[1]}: an ONNX export (no model.safetensors); run it with an ONNX runtime (examples/onnx), "
        "or export the run again with --format both")
    flow = tmp_path / "flow"
    shutil.copytree(run, flow)
    text = (flow / "config.yaml").read_text()
    assert "modality: rgb" in text
    (flow / "config.yaml").write_text(text.replace("modality: rgb", "modality: flow"))
    with pytest.raises(LrcnError, match="a flow-dis stream; --format onnx exports RGB runs"):
        export(flow, tmp_path / "flow-out", "onnx")
    assert not (tmp_path / "flow-out").exists()
    with pytest.raises(LrcnError, match="--format tflite: choose from safetensors, onnx, both"):
        export(run, tmp_path / "x", "tflite")


def test_graphs_that_differ_from_the_model_are_refused_and_nothing_is_written(activity, tmp_path, monkeypatch):
    import torch

    from lrcn.bundle import export
    from lrcn.deploy import parity, payload
    from lrcn.errors import LrcnError

    run, out, _, _ = activity
    other = tmp_path / "other"
    shutil.copytree(run, other)  # this run with another classifier bias, given this run's graphs
    checkpoint = torch.load(other / "checkpoints" / "best.ckpt", weights_only=True)
    checkpoint["state_dict"]["model.head.classifier.bias"][0] += 2.0
    torch.save(checkpoint, other / "checkpoints" / "best.ckpt")

    def stale(net, example, path, *shapes):  # the graphs of the unchanged run, instead of exporting them anew
        return Path(shutil.copy(out / path.name, path))

    monkeypatch.setattr(payload, "to_onnx", stale)
    with pytest.raises(LrcnError) as refused:
        export(other, tmp_path / "refused", "onnx")
    message = str(refused.value)
    assert message.startswith(f"{other}: the ONNX graphs differ from the PyTorch model on an embedded synthetic video")
    assert message.endswith(f"above {parity.TOLERANCE:g}; nothing written") and "\n" not in message
    assert not (tmp_path / "refused").exists() and not (tmp_path / ".refused.tmp").exists()


@pytest.mark.slow  # another export of the CNN: 10 s
def test_a_fine_tuned_cnn_is_exported_with_its_own_weights(activity, tmp_path):
    import numpy as np
    import onnxruntime as ort
    import torch
    import yaml

    from lrcn.bundle import export
    from lrcn.models.backbones import create_backbone

    run, _, _, _ = activity
    tuned = tmp_path / "tuned"
    shutil.copytree(run, tuned)  # the trained head, and a CNN whose weights are no longer the registry's
    config = yaml.safe_load((tuned / "config.yaml").read_text())
    config["train"]["finetune"] = True
    (tuned / "config.yaml").write_text(yaml.safe_dump(config))
    cnn = create_backbone("efficientnet_lite0", pretrained=True, grid=3, frozen=True)
    with torch.no_grad():
        next(cnn.parameters()).mul_(1.5)  # the stem's convolution
    checkpoint = torch.load(tuned / "checkpoints" / "best.ckpt", weights_only=True)
    checkpoint["state_dict"].update({f"model.backbone.{k}": v for k, v in cnn.state_dict().items()})
    torch.save(checkpoint, tuned / "checkpoints" / "best.ckpt")
    out = export(tuned, tmp_path / "export", "onnx")  # its parity check is against this CNN
    frames = np.random.default_rng(0).integers(0, 256, (2, 96, 96, 3), dtype=np.uint8)
    got = ort.InferenceSession(str(out / "cnn.onnx"), providers=["CPUExecutionProvider"]).run(None, {"frames": frames})[0]
    x = torch.from_numpy(frames).permute(0, 3, 1, 2)
    with torch.inference_mode():
        own, registry = cnn(x).numpy(), create_backbone("efficientnet_lite0", True, 3)(x).numpy()
    assert np.abs(got - own).max() <= 1e-2 * np.abs(own).max()  # float16 rounding
    assert np.abs(got - registry).max() > 0.1 * np.abs(registry).max()


@pytest.mark.slow
def test_the_demo_activity_run_exported_answers_as_lrcn_classify_on_every_test_video(tmp_path, env, held, no_torch,
                                                                                     one_thread):
    """The demo's RGB LRCN on the quick demo's data (12 classes, 6 videos each), trained the full demo's 20 epochs (the
    quick demo's 3 leave near-ties), on its whole test split: the runner is lrcn in fp32; against lrcn's native bf16
    CNN the labels hold and the probabilities move as much as lrcn's own fp32 ones do (measured: 0.14)."""
    from lrcn.data.synthetic.actions import write_actions
    from lrcn.demo.activity import config, settings
    from lrcn.tasks.activity.train import train

    s = {**settings(quick=True), "epochs": 20}  # the full demo's epochs: the quick demo's 3 leave near-ties
    data = write_actions(tmp_path / "actions", seed=0, videos_per_class=s["videos_per_class"],
                         num_frames=s["num_frames"], workers=1)
    train(config(data, s, 0, "rgb", "lrcn"), tmp_path / "run", cache=Path(env["LRCN_CACHE"]), progress=False)
    out = lrcn("export", tmp_path / "run", tmp_path / "export", "--format", "onnx", env=env)
    print(out.stdout.splitlines()[-1])
    videos = [data / line.strip() for line in (data / "ucfTrainTestlist" / "testlist01.txt").read_text().splitlines()]
    every = ["--json", "--top-k", "12"]  # every class: |Δp| over whole distributions
    ours = lines(runner("classify.py", tmp_path / "export", *videos, *every, env=no_torch))
    fp32 = lines(lrcn("classify", tmp_path / "run", *videos, *every, env=held))
    same_answers(ours, fp32, FP32)
    print(f"runner against lrcn fp32: max |Δp| "
          f"{max(abs(scores(a)[k] - scores(b)[k]) for a, b in zip(ours, fp32) for k in scores(b)):.2g}")
    native = lines(lrcn("classify", tmp_path / "run", *videos, *every, env=env))
    gaps = {}
    for name, answers in (("runner", ours), ("lrcn held to AVX2 (fp32)", fp32)):
        gaps[name] = max(abs(scores(a)[k] - scores(b)[k]) for a, b in zip(answers, native) for k in scores(b))
        flips = sum(a["label"] != b["label"] for a, b in zip(answers, native))
        print(f"{name} against lrcn native: {len(videos)} videos, max |Δp| {gaps[name]:.2g}, labels differing {flips}")
    assert [a["label"] for a in ours] == [a["label"] for a in native]
    assert abs(gaps["runner"] - gaps["lrcn held to AVX2 (fp32)"]) <= FP32  # the gap is lrcn's own bf16 against fp32

