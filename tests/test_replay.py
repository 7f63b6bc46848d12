"""A resumed run is the same training as one never interrupted: same order, same draws, same weights, bit for bit,
and its log keeps every epoch once. (The real thing, SIGKILL at random moments: tests/test_kill.py, slow set.)"""
import csv

import pytest
import torch

from lrcn.config import resolve
from lrcn.data.epochs import EpochShuffle
from lrcn.data.synthetic.scenes import write_scenes
from lrcn.replay import StepSeeds


def test_the_order_and_draws_of_an_epoch_depend_on_the_seed_and_the_epoch_alone():
    a, b = EpochShuffle(50, seed=3, draws=True), EpochShuffle(50, seed=3, draws=True)
    list(a)  # a has been used before: it makes no difference
    a.set_epoch(2), b.set_epoch(2)
    assert list(a) == list(b) and sorted(i for i, _ in a) == list(range(50))
    assert list(EpochShuffle(50, seed=3, epoch=2, draws=True)) == list(a)  # a resumed run's first epoch
    b.set_epoch(3)
    assert list(b) != list(a) and list(EpochShuffle(50, seed=4, epoch=2, draws=True)) != list(a)
    assert len({s for _, s in a} | {s for _, s in b}) == 100  # every item of every epoch draws its own
    assert list(EpochShuffle(50, seed=3, epoch=2)) == [i for i, _ in a]


class Killed(Exception):
    pass


def train(root, cache, epochs, resume=False):
    from lrcn.tasks.caption.config import CaptionConfig
    from lrcn.tasks.caption.train import train as train_caption

    cfg = resolve(CaptionConfig, {"data.root": root / "scenes", "features.image_size": 56, "data.min_count": 1,
                                  "data.images_per_batch": 4, "data.workers": 0, "model.embed_dim": 16,
                                  "model.hidden": 16, "model.image_dim": 16, "model.dropout": 0.5,
                                  "train.epochs": epochs})
    return train_caption(cfg, root / "run", resume=resume, cache=cache, progress=False)


def log_rows(run):
    with open(run / "logs" / "metrics.csv", newline="") as f:
        return sorted((r["epoch"], int(r["step"]), tuple(sorted((k, v) for k, v in r.items() if v)))
                      for r in csv.DictReader(f))


def state(run):
    ckpt = torch.load(run / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=True)
    return ckpt["state_dict"], ckpt["optimizer_states"][0]["state"], ckpt["epoch"], ckpt["global_step"]


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    root = tmp_path_factory.mktemp("once")
    write_scenes(root / "scenes", seed=0, num_train=12, num_val=4, num_test=4, image_size=64, workers=1)
    train(root, root / "cache", epochs=2)
    return root


def test_a_run_crashed_mid_epoch_resumes_to_the_same_weights_optimiser_and_log(uninterrupted, tmp_path,
                                                                                  monkeypatch):
    (tmp_path / "scenes").symlink_to(uninterrupted / "scenes")
    seed_step = StepSeeds.on_train_batch_start

    def crash_in_the_second_epoch(self, trainer, module, batch, batch_idx):
        if trainer.current_epoch == 1 and batch_idx == 1:
            raise Killed
        seed_step(self, trainer, module, batch, batch_idx)

    monkeypatch.setattr(StepSeeds, "on_train_batch_start", crash_in_the_second_epoch)
    with pytest.raises(Killed):
        train(tmp_path, uninterrupted / "cache", epochs=2)
    assert state(tmp_path / "run")[2:] == (0, 3)  # epoch 0 whole (3 steps), epoch 1 to be trained again
    monkeypatch.setattr(StepSeeds, "on_train_batch_start", seed_step)
    train(tmp_path, uninterrupted / "cache", epochs=2, resume=True)
    ref, got = state(uninterrupted / "run"), state(tmp_path / "run")
    assert got[2:] == ref[2:] == (1, 6)
    assert ref[0].keys() == got[0].keys() and all(torch.equal(ref[0][k], got[0][k]) for k in ref[0])
    assert all(torch.equal(ref[1][p][k], got[1][p][k]) for p in ref[1] for k in ref[1][p])
    assert log_rows(tmp_path / "run") == log_rows(uninterrupted / "run")  # every epoch once, the same numbers
