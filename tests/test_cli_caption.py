"""End to end through the real CLI on a tiny synthetic scenes set (real JPEGs, real COCO/Karpathy JSON)."""
import json

import pytest

from cli import CAN_LOCK_FILES, locked_copy, lrcn
from lrcn.data.synthetic.scenes import write_scenes
from lrcn.files import read_json

pytestmark = pytest.mark.cpu_kinds  # make test runs these again held to AVX2

TINY = ["--epochs", "2", "--embed-dim", "16", "--hidden", "16", "--image-dim", "16", "--image-size", "56",
        "--min-count", "1", "--images-per-batch", "8"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("caption")
    data = write_scenes(root / "scenes", seed=0, num_train=24, num_val=6, num_test=6, image_size=64, workers=1)
    run = root / "run"
    lrcn("train", "caption", "--data", data, "--out", run, "--variant", "lrcn2f", "--cache", root / "cache", *TINY)
    return data, run


def test_train_writes_a_run_folder_with_config_vocabulary_and_checkpoints(trained):
    _, run = trained
    assert (run / "config.yaml").is_file() and (run / "vocab.json").is_file()
    assert (run / "checkpoints" / "last.ckpt").is_file() and (run / "checkpoints" / "best.ckpt").is_file()


def test_caption_json_lines_keep_going_past_bad_images(trained, tmp_path):
    data, run = trained
    good = sorted((data / "images").glob("*.jpg"))[:2]
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    text = tmp_path / "notes.png"
    text.write_text("not an image")
    truncated = tmp_path / "cut.jpg"
    truncated.write_bytes(good[0].read_bytes()[:300])
    locked = locked_copy(good[0], tmp_path / "locked.jpg")
    inputs = [good[0], empty, text, truncated, good[1], tmp_path / "missing.jpg", locked]
    proc = lrcn("caption", run, *inputs, "--json", "--beam", "3", check=False, as_non_root=True)
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    lines = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [line["path"] for line in lines] == [str(p) for p in inputs]
    for line, ok in zip(lines, [True, False, False, False, True, False, not CAN_LOCK_FILES]):
        if ok:
            assert isinstance(line["caption"], str) and "error" not in line
        else:
            assert "\n" not in line["error"] and line["path"].split("/")[-1] in line["error"]


def test_caption_plain_output_with_best_of_n_sampling(trained):
    data, run = trained
    image = sorted((data / "images").glob("*.jpg"))[0]
    proc = lrcn("caption", run, image, "--sample", "5", "--temperature", "1.5")
    assert proc.stdout.startswith(f"{image}: ") and proc.stdout.count("\n") == 1


def test_beam_and_sampling_are_alternatives(trained):
    from lrcn.errors import LrcnError
    from lrcn.models.decoding import Decoding

    with pytest.raises(LrcnError, match="alternatives"):
        Decoding(beam=2, sample=5).check()
    with pytest.raises(LrcnError, match="temperature"):
        Decoding(sample=5, temperature=0.0).check()
    _, run = trained
    proc = lrcn("caption", run, run / "x.jpg", "--beam", "2", "--sample", "5", check=False)
    assert proc.returncode == 1 and proc.stderr.strip() == "error: --beam and --sample are alternatives: give one"


def test_eval_retrieval_writes_recall_and_median_rank_with_baseline(trained):
    _, run = trained
    proc = lrcn("eval", "retrieval", run)
    metrics = read_json(run / "metrics.json")["retrieval"]
    for entry in (metrics["annotation"], metrics["search"], metrics["baseline"]["annotation"]):
        assert set(entry) == {"r1", "r5", "r10", "medr"}
        assert 0 <= entry["r1"] <= entry["r5"] <= entry["r10"] <= 100
    assert metrics["images"] == 6 and metrics["captions"] == 30
    assert "annotation" in proc.stdout and "R@10" in proc.stdout


@pytest.mark.slow  # starts the Java tokenizer and METEOR (test_caption_metrics covers them in the fast set)
def test_eval_caption_scores_the_run_and_the_nearest_neighbour_and_draws_a_gallery(trained):
    _, run = trained
    proc = lrcn("eval", "caption", run, "--beam", "2")
    metrics = read_json(run / "metrics.json")
    assert set(metrics["captioning"]) >= {"bleu1", "bleu2", "bleu3", "bleu4", "meteor", "rouge_l", "cider"}
    assert metrics["captioning"]["decoding"]["beam"] == 2
    assert "cider" in metrics["nearest_neighbour"]
    assert (run / "gallery.png").read_bytes()[:4] == b"\x89PNG"
    assert "CIDEr-D" in proc.stdout and "NN baseline" in proc.stdout


def test_user_errors_are_one_line(trained, tmp_path):
    data, run = trained
    proc = lrcn("train", "caption", "--data", tmp_path, "--out", tmp_path / "r", check=False)
    assert proc.returncode == 1 and "no Karpathy split file" in proc.stderr and "Traceback" not in proc.stderr
    proc = lrcn("train", "caption", "--data", data, "--out", tmp_path / "r", "--variant", "lrcn3x", check=False)
    assert proc.returncode == 1 and "lrcn2f" in proc.stderr and proc.stderr.count("\n") == 1


def test_finetuning_trains_the_cnn_too_and_its_run_captions(trained, tmp_path):
    import torch

    import lrcn as api
    from lrcn.config import resolve
    from lrcn.models.backbones import create_backbone
    from lrcn.tasks.caption.config import CaptionConfig
    from lrcn.tasks.caption.train import train

    data, _ = trained
    cfg = resolve(CaptionConfig, {"data.root": data, "features.image_size": 56, "data.min_count": 1,
                                  "data.images_per_batch": 12, "data.workers": 0, "model.variant": "lrcn1u",
                                  "model.embed_dim": 8, "model.hidden": 8, "model.image_dim": 8, "train.epochs": 1,
                                  "train.finetune": True})
    run = train(cfg, tmp_path / "ft", cache=tmp_path / "cache", progress=False).path
    predictor = api.load(run)
    fresh = create_backbone("efficientnet_lite0", pretrained=True, grid=3)
    tuned, before = dict(predictor.model.backbone.named_parameters()), dict(fresh.named_parameters())
    assert any(not torch.equal(tuned[n], before[n]) for n in before)  # the CNN is in the loop
    assert predictor.extractor.backbone is predictor.model.backbone  # ... and prediction runs the tuned one
    image = sorted((data / "images").glob("*.jpg"))[0]
    assert isinstance(predictor.predict(image)["caption"], str)


def test_data_folder_karpathy_file_wins_and_coco_files_alone_read_the_same_images(trained, tmp_path):
    import shutil

    from lrcn.tasks.caption.data import read_caption_folder

    data, _ = trained
    karpathy = read_caption_folder(data)
    coco_only = tmp_path / "coco"
    shutil.copytree(data / "annotations", coco_only / "annotations")
    (coco_only / "images").symlink_to(data / "images")
    coco = read_caption_folder(coco_only)
    key = lambda items: sorted((it.path.name, it.split, tuple(it.captions)) for it in items)
    assert key(coco) == key(karpathy) and len(karpathy) == 36
    assert all(it.path.is_file() for it in coco)


def test_every_kind_of_photograph_gets_a_sentence(trained, tmp_path):
    import numpy as np
    from PIL import Image

    import lrcn as api

    data, run = trained
    rgb = Image.open(sorted((data / "images").glob("*.jpg"))[0]).convert("RGB")
    files = {
        "gray.png": rgb.convert("L"),
        "palette.gif": rgb.convert("P"),
        "alpha.png": rgb.convert("RGBA"),
        "cmyk.jpg": rgb.convert("CMYK"),
        "tiny.png": rgb.resize((1, 1)),
        "deep.png": Image.fromarray((np.asarray(rgb.convert("L"), dtype=np.uint16) * 257)),
        "large.jpg": rgb.resize((3000, 2000)),
    }
    for name, image in files.items():
        image.save(tmp_path / name)
    results = api.load(run).predict_many([tmp_path / name for name in files])
    for name, result in zip(files, results):
        assert result["path"].endswith(name) and "error" not in result, result
        assert isinstance(result["caption"], str) and isinstance(result["logprob"], float)
