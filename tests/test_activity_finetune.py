"""End-to-end fine-tuning (``lrcn train activity --finetune``): the CNN trains, and eval/classify use it."""
import json
import os
from pathlib import Path

import lightning as L
import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset

from activity_data import write_ucf101
from cli import lrcn
from lrcn.bundle import open_bundle
from lrcn.config import save_yaml, to_dict
from lrcn.features.cache import FeatureCache
from lrcn.features.inputs import mirror_of
from lrcn.features.spec import FeatureConfig, FeatureSpec
from lrcn.files import write_json
from lrcn.models.activity import ActivityModelConfig
from lrcn.tasks.activity.config import ActivityConfig, ActivityDataConfig, ActivityTrainConfig
from lrcn.tasks.activity.data import TrainFrames, VideoFrames
from lrcn.tasks.activity.evaluate import score_test_set, eval_cache
from lrcn.tasks.activity.module import ActivityModule
from lrcn.tasks.activity.predictor import Stream

pytestmark = pytest.mark.cpu_kinds  # make test runs these again held to AVX2


def tiny_config(root, finetune: bool) -> ActivityConfig:
    return ActivityConfig(
        ActivityDataConfig(root=Path(root), workers=0, val_fraction=0.0),
        FeatureConfig(backbone="resnet18", pretrained=False, grid=1, image_size=32),
        ActivityModelConfig(pca=0, fc6=8, hidden=8),
        ActivityTrainConfig(finetune=finetune),
    )


def module_of(cfg: ActivityConfig) -> ActivityModule:
    torch.manual_seed(0)
    return ActivityModule(cfg, ["MoveLeft", "MoveRight"], feature_dim=512)


def test_a_finetune_step_trains_the_cnn_at_a_tenth_of_the_rate_with_batchnorm_statistics_fixed():
    module = module_of(tiny_config("data", finetune=True))
    before = {k: v.clone() for k, v in module.state_dict().items()}
    frames = torch.randint(0, 256, (2, 4, 3, 32, 32), dtype=torch.uint8)  # (B, L, 3, S, S)
    video = torch.randint(0, 256, (1, 20, 1, 3, 32, 32), dtype=torch.uint8)  # (1, T, V, 3, S, S): validation
    trainer = L.Trainer(max_steps=1, accelerator="cpu", precision="bf16-mixed", logger=False,
                        enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False)
    trainer.fit(module, train_dataloaders=DataLoader(TensorDataset(frames, torch.tensor([0, 1])), batch_size=2),
                val_dataloaders=DataLoader(TensorDataset(video, torch.tensor([1])), batch_size=1))
    assert "val/video_acc" in trainer.callback_metrics
    after = module.state_dict()
    cnn = "model.backbone.net."
    assert not torch.equal(after[cnn + "0.weight"], before[cnn + "0.weight"])  # the CNN learned
    assert not torch.equal(after["model.head.classifier.weight"], before["model.head.classifier.weight"])
    assert not torch.equal(after[cnn + "1.weight"], before[cnn + "1.weight"])  # BN scale trains
    torch.testing.assert_close(after[cnn + "1.running_mean"], before[cnn + "1.running_mean"])
    assert [g["lr"] for g in trainer.optimizers[0].param_groups] == [1e-3, 1e-4]


def test_the_frozen_path_has_no_cnn_in_its_module_and_optimises_the_head_only():
    module = module_of(tiny_config("data", finetune=False))
    assert module.model.backbone is None
    (group,) = module.configure_optimizers().param_groups
    assert len(group["params"]) == len(list(module.model.head.parameters()))


def test_training_clips_are_one_crop_of_consecutive_frames_mirrored_only_when_asked(tmp_path):
    from lrcn.data.video import read_video

    data = write_ucf101(tmp_path / "UCF101", groups=2, test_groups=1)
    cfg = tiny_config(data, finetune=True)
    spec = cfg.features.spec("center", cfg.source)
    items = [type("Item", (), {"path": data / "MoveLeft" / "v_MoveLeft_g01_c01.avi", "label": 0})()]
    s = spec.decode_size  # 37: clips are 32x32 windows of the 37x37 decode
    full = torch.from_numpy(read_video(items[0].path, size=(s, s))).permute(0, 3, 1, 2)  # (20, 3, 37, 37)

    windows = torch.stack([full[t : t + 16, :, y : y + 32, x : x + 32]
                           for t in range(5) for y in range(6) for x in range(6)])  # (180, 16, 3, 32, 32)

    def seen(clip):
        """How ``clip`` sits in the video: "plain" or "mirrored" for each window of 16 consecutive frames it equals."""
        return ["plain"] * int((windows == clip).flatten(1).all(1).sum()) + \
            ["mirrored"] * int((windows.flip(-1) == clip).flatten(1).all(1).sum())

    for mirror, expected in ((None, {"plain"}), ([1, 0], {"plain", "mirrored"})):
        clips = TrainFrames(spec, tmp_path / "flow", items, clip_len=16, clips_per_video=8, reverse=[0, 1], mirror=mirror)
        assert len(clips) == 8
        found = [(seen(clip), label) for clip, label in (clips[(i, i)] for i in range(8))]
        assert all(len(f) == 1 for f, _ in found)  # every clip is one window, one way
        assert {f[0] for f, _ in found} == expected
        assert all(label == (1 if f == ["mirrored"] else 0) for f, label in found)  # mirrored MoveLeft: MoveRight
    clip = clips[(0, 0)][0]
    assert clip.shape == (16, 3, 32, 32) and clip.dtype == torch.uint8
    views, label = VideoFrames(spec, tmp_path / "flow", items)[0]
    assert views.shape == (20, 1, 3, 32, 32) and label == 0
    assert mirror_of("flow-dis") is not mirror_of("rgb")


def write_run(run: Path, module: ActivityModule, cfg: ActivityConfig) -> Path:
    """A run folder holding ``module`` as its best checkpoint."""
    save_yaml(run / "config.yaml", {"task": "activity", **to_dict(cfg)})
    write_json(run / "model.json", {"classes": module.classes, "feature_dim": 512})
    (run / "checkpoints").mkdir(parents=True)
    torch.save({"state_dict": module.state_dict()}, run / "checkpoints" / "best.ckpt")
    return run


def test_eval_and_classify_run_the_runs_fine_tuned_cnn_not_the_pretrained_one(tmp_path):
    data = write_ucf101(tmp_path / "UCF101", groups=2, test_groups=1)
    cfg = tiny_config(data, finetune=True)
    pretrained, tuned = module_of(cfg), module_of(cfg)
    with torch.no_grad():
        tuned.model.backbone.net[0].weight.mul_(-1.5)  # as if fine-tuning had moved the first conv
    runs = {name: write_run(tmp_path / name, m, cfg) for name, m in (("pretrained", pretrained), ("tuned", tuned))}
    loaded = {name: Stream(open_bundle(run), torch.device("cpu")) for name, run in runs.items()}
    torch.testing.assert_close(loaded["tuned"].model.backbone.net[0].weight, tuned.model.backbone.net[0].weight)
    caches = {name: eval_cache(s, "center", tmp_path / "cache") for name, s in loaded.items()}
    frozen = FeatureCache(tmp_path / "cache", cfg.features.spec("center", cfg.source))
    assert len({c.dir for c in caches.values()} | {frozen.dir}) == 3  # test features cached per CNN weights
    scores = {name: score_test_set(s, cache=tmp_path / "cache", workers=0).scores for name, s in loaded.items()}
    assert not np.allclose(scores["pretrained"], scores["tuned"])
    video = data / "MoveLeft" / "v_MoveLeft_g02_c01.avi"
    stream = loaded["tuned"]
    assert stream.extractor.backbone is stream.model.backbone
    np.testing.assert_allclose(stream.scores(stream.extractor(video)), scores["tuned"][0], rtol=1e-3, atol=1e-4)


def test_the_pretrained_cnn_keeps_the_cache_keys_written_before_fine_tuning_existed():
    bf16 = FeatureSpec(precision="bf16")  # PyTorch bf16 features, the default before the engines and the policy
    assert bf16.key() == "efficientnet_lite0-rgb-224-0fe51a9a15"
    flow = FeatureSpec(source="flow-dis", views="ten", image_size=64, precision="bf16")
    assert flow.key() == "efficientnet_lite0-flow-dis-64-e43c27b354"
    assert FeatureSpec(weights="abc", precision="bf16").key() != bf16.key()


@pytest.mark.slow
def test_finetune_trains_evaluates_and_classifies_through_the_cli(tmp_path):
    data = write_ucf101(tmp_path / "UCF101", groups=7, test_groups=1)  # 6 training groups a class: 1 held out for val
    (data / "MoveLeft" / "v_MoveLeft_g01_c02.avi").write_bytes(os.urandom(3000))  # broken
    with open(data / "ucfTrainTestlist" / "trainlist01.txt", "a") as f:
        f.write("MoveLeft/v_MoveLeft_g01_c02.avi 1\n")
    env = {**os.environ, "LRCN_CACHE": str(tmp_path / "cache"), "OMP_NUM_THREADS": "1"}
    run = tmp_path / "run"
    lrcn("train", "activity", "--data", data, "--out", run, "--finetune", "--epochs", 1, "--image-size", 64,
         "--fc6", 16, "--hidden", 8, "--batch-size", 4, "--workers", 1, env=env)
    assert "v_MoveLeft_g01_c02.avi" in (run / "skipped.txt").read_text()
    ckpt = torch.load(run / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=False)
    assert any(k.startswith("model.backbone.") for k in ckpt["state_dict"]) and ckpt["global_step"] > 0
    assert "val/video_acc" in (run / "logs" / "metrics.csv").read_text()  # validated through the fine-tuned CNN
    lrcn("eval", "activity", run, env=env)
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["frozen"] is False and metrics["num_videos"] == 2
    video = data / "MoveRight" / "v_MoveRight_g07_c01.avi"
    answer = json.loads(lrcn("classify", run, video, "--json", env=env).stdout)
    scores = np.load(run / "scores.npz")
    row = list(scores["paths"]).index(str(video))
    assert answer["score"] == pytest.approx(scores["scores"][row].max(), abs=1e-3)
