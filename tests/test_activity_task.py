import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from activity_data import moving_square, write_ucf101
from lrcn.data.video import write_video
from lrcn.errors import LrcnError
from lrcn.data.transforms import crop_views, hflip
from lrcn.models.activity import clips_of, predict_clips
from lrcn.tasks.activity.config import ActivityDataConfig as DataConfig
from lrcn.data.epochs import EpochShuffle
from lrcn.tasks.activity.data import TrainClips, hold_out_groups, pair_permutation, read_videos

CLASSES = ["MoveLeft", "Still", "MoveRight", "MoveUp", "MoveDown"]


class Item:
    def __init__(self, path, label, group=None):
        self.path, self.label, self.group = Path(path), label, group


def test_held_out_groups_never_straddle_and_each_class_loses_its_share():
    items = [Item(f"{c}_{g}_{k}.avi", c, f"g{g}") for c in range(3) for g in range(10) for k in range(3)]
    kept, held = hold_out_groups(items, 0.2, seed=0)
    assert len(kept) + len(held) == len(items)
    assert {(i.label, i.group) for i in kept}.isdisjoint({(i.label, i.group) for i in held})
    for c in range(3):
        assert len({i.group for i in held if i.label == c}) == 2
    assert [i.path for i in hold_out_groups(items, 0.2, seed=0)[1]] == [i.path for i in held]  # seeded
    assert hold_out_groups(items, 0.0, seed=0) == (items, [])


def test_test_clips_every_8_frames_with_the_last_clip_at_the_end_and_short_videos_looped():
    feats = torch.arange(40, dtype=torch.float16).view(40, 1, 1).expand(40, 2, 3)  # (T, V, D)
    clips = clips_of(feats, 16, 8)
    assert clips.shape == (4, 2, 16, 3)  # starts 0, 8, 16, 24
    assert clips[:, 0, 0, 0].tolist() == [0, 8, 16, 24] and clips[-1, 1, -1, 0] == 39
    short = clips_of(feats[:5], 16, 8)
    assert short.shape == (1, 2, 16, 3) and short[0, 0, :, 0].tolist() == [t % 5 for t in range(16)]


def test_a_folder_per_class_is_split_into_train_and_test(tmp_path):
    rng = np.random.default_rng(0)
    for name, direction in (("left", -1), ("right", 1)):
        (tmp_path / name).mkdir()
        for k in range(5):
            write_video(tmp_path / name / f"{k}.mp4", moving_square(direction, rng, frames=4))
    videos = read_videos(DataConfig(root=tmp_path, test_fraction=0.4, val_fraction=0.0))
    assert videos.classes == ["left", "right"]
    assert len(videos.train) + len(videos.test) == 10 and len(videos.test) == 4
    assert {str(i.path) for i in videos.train}.isdisjoint(str(i.path) for i in videos.test)


def test_a_ucf101_root_is_read_with_its_split_lists(tmp_path):
    write_ucf101(tmp_path / "UCF101", groups=4, test_groups=1)
    videos = read_videos(DataConfig(root=tmp_path / "UCF101", split=2, val_fraction=0.0))
    assert videos.classes == ["MoveLeft", "MoveRight"]
    assert len(videos.train) == 6 and len(videos.test) == 2
    with pytest.raises(LrcnError, match="no such data folder"):
        read_videos(DataConfig(root=tmp_path / "nothing"))


def test_class_pairs_become_a_permutation_that_is_its_own_inverse():
    perm = pair_permutation(["MoveLeft:MoveRight", "MoveDown:MoveUp"], CLASSES, "--mirror-pair", Path("data"))
    assert perm == [2, 1, 0, 4, 3]
    assert [perm[i] for i in perm] == list(range(5))
    assert pair_permutation([], CLASSES, "--mirror-pair", Path("data")) == list(range(5))


@pytest.mark.parametrize("pair, problem", [("MoveLeft:Jump", "expected two different class names A:B of data"),
                                           ("MoveLeft", "expected two different class names A:B of data"),
                                           ("Still:Still", "expected two different class names A:B of data"),
                                           ("MoveRight:MoveUp", "a class can be in one pair only")])
def test_a_bad_class_pair_is_one_line_naming_the_flag_and_the_pair(pair, problem):
    with pytest.raises(LrcnError) as err:
        pair_permutation(["MoveLeft:MoveRight", pair], CLASSES, "--reverse-pair", Path("data"))
    assert str(err.value) == f"--reverse-pair {pair}: {problem}"


def test_a_mirrored_training_view_carries_its_mirror_pair_label():
    feats = np.arange(2, dtype=np.float16).reshape(1, 2, 1).repeat(20, 0)  # (T, V, D): the feature is the view index
    cache = SimpleNamespace(spec=SimpleNamespace(views="center+flip"), load=lambda path: feats)
    items = [Item("a.avi", 0), Item("b.avi", 1), Item("c.avi", 2)]
    mirror = pair_permutation(["MoveLeft:MoveRight"], CLASSES, "--mirror-pair", Path("data"))
    clips = TrainClips(cache, items, clip_len=16, clips_per_video=40, reverse=list(range(5)), mirror=mirror)
    seen = set()
    for i, seed in EpochShuffle(len(clips), seed=0, draws=True):
        clip, label = clips[(i, seed)]
        view, original = int(clip[0, 0]), items[i % len(items)].label
        assert label == (mirror[original] if view == 1 else original)
        seen.add((original, view))
    assert seen == {(c, v) for c in range(3) for v in range(2)}  # every class was drawn plain and mirrored


class LeftRightHead(torch.nn.Module):
    """A mirror-equivariant toy head on (left, right) brightness features: swapping them swaps MoveLeft and MoveRight."""

    def forward(self, x):  # (B, L, 2) -> ((B, L, 3) logits, no state)
        w = torch.tensor([[2.0, 0.5, -1.0], [-1.0, 0.5, 2.0]])
        return x @ w, None


def left_right(views: torch.Tensor) -> torch.Tensor:
    """(T, V, 3, S, S) crops -> (T, V, 2) mean brightness of each crop's left and right half: a mirror swaps them."""
    half = views.shape[-1] // 2
    return torch.stack([views[..., :half].float().mean((-1, -2, -3)), views[..., half:].float().mean((-1, -2, -3))], -1) / 255


def test_mirrored_test_crops_have_their_scores_swapped_back_so_a_clip_and_its_mirror_agree():
    frames = torch.full((20, 3, 64, 64), 40, dtype=torch.uint8)
    frames[:, :, 20:40, 6:24] = 230  # bright on the left: this head calls it MoveLeft
    classes = CLASSES[:3]
    mirror = pair_permutation(["MoveLeft:MoveRight"], classes, "--mirror-pair", Path("data"))
    head = LeftRightHead()

    def scores(video, mirror):
        return predict_clips(head, clips_of(left_right(crop_views(video, 56, "ten")), 16, 8), "ten", mirror)[1]

    video, its_mirror = scores(frames, mirror), scores(hflip(frames), mirror)
    assert video.argmax() == 0 and its_mirror.argmax() == 2
    torch.testing.assert_close(its_mirror, video[mirror])
    one_crop = predict_clips(head, clips_of(left_right(crop_views(frames, 56, "center")), 16, 8))[1]
    assert one_crop.argmax() == 0
    blind = scores(frames, None)  # averaged without the swap, five crops say left and five say right
    torch.testing.assert_close(blind[0], blind[2])


@pytest.mark.slow
def test_the_same_train_command_runs_under_torchrun_with_two_processes(tmp_path):
    data = write_ucf101(tmp_path / "UCF101", groups=4, test_groups=1)
    env = {**os.environ, "LRCN_CACHE": str(tmp_path / "cache"), "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "-m", "lrcn", "train", "activity",
           "--data", str(data), "--out", str(tmp_path / "run"), "--epochs", "2", "--image-size", "64",
           "--fc6", "16", "--hidden", "8", "--batch-size", "4", "--workers", "0"]
    out = subprocess.run(cmd, capture_output=True, text=True, env=env)
    assert out.returncode == 0, out.stderr[-3000:]
    assert "GLOBAL_RANK: 1" in out.stderr + out.stdout
    ckpt = torch.load(tmp_path / "run" / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=False)
    assert ckpt["epoch"] == 1 and ckpt["global_step"] > 0
