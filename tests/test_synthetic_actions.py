import subprocess
import sys

import numpy as np
import pytest

from lrcn.data.synthetic.actions import CLASSES, MIRRORED, MOTIONLESS, PAIRS, held_out_groups, render, trajectory, write_actions
from lrcn.data.ucf101 import read_classes, read_split
from lrcn.data.video import read_video


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return write_actions(tmp_path_factory.mktemp("actions"), seed=0, videos_per_class=4, num_frames=6, workers=2)


def test_classes_come_in_time_reversed_pairs():
    assert len(CLASSES) >= 12 and CLASSES == [c for pair in PAIRS for c in pair]
    assert set(MOTIONLESS) <= set(CLASSES) and any(set(MOTIONLESS) == set(p) for p in PAIRS)


def test_a_mirror_swaps_left_right_and_the_sense_of_revolution():
    assert MIRRORED["MoveLeft"] == "MoveRight" and MIRRORED["RevolveClockwise"] == "RevolveCounterclockwise"
    assert all(MIRRORED[MIRRORED[c]] == c for c in MIRRORED)


def test_held_out_groups_are_ucf101s_and_scale_to_fewer_groups():
    assert [held_out_groups(k) for k in (1, 2, 3)] == [list(range(1, 8)), list(range(8, 15)), list(range(15, 22))]
    assert [held_out_groups(k, 4) for k in (1, 2, 3)] == [[1], [2], [3]]


def test_writes_ucf101_layout_that_the_ucf101_reader_reads(tiny):
    lists = tiny / "ucfTrainTestlist"
    assert sorted(p.name for p in lists.iterdir()) == sorted(
        ["classInd.txt"] + [f"{s}list0{k}.txt" for s in ("train", "test") for k in (1, 2, 3)])
    assert lists.joinpath("classInd.txt").read_text().splitlines()[:2] == ["1 MoveLeft", "2 MoveRight"]
    assert lists.joinpath("trainlist01.txt").read_text().splitlines()[0] == "MoveLeft/v_MoveLeft_g02_c01.avi 1"
    assert lists.joinpath("testlist01.txt").read_text().splitlines()[0] == "MoveLeft/v_MoveLeft_g01_c01.avi"
    assert read_classes(tiny) == CLASSES
    for split in (1, 2, 3):
        train, test = read_split(tiny, split, "train"), read_split(tiny, split, "test")
        assert len(train) + len(test) == 4 * len(CLASSES)
        assert {it.group for it in train}.isdisjoint({it.group for it in test})
        assert {it.label for it in test} == set(range(len(CLASSES)))


def test_videos_are_320x240_mpeg4_avi_at_25_fps(tiny):
    import av

    with av.open(str(tiny / "Grow/v_Grow_g02_c01.avi")) as container:
        stream = container.streams.video[0]
        assert (container.format.name, stream.codec_context.name) == ("avi", "mpeg4")
        assert (stream.width, stream.height, stream.average_rate) == (320, 240, 25)
    assert read_video(tiny / "Grow/v_Grow_g02_c01.avi").shape == (6, 240, 320, 3)


def test_same_seed_same_bytes_other_seed_other_video(tiny, tmp_path):
    again = write_actions(tmp_path / "again", seed=0, videos_per_class=4, num_frames=6, workers=1)
    name = "Approach/v_Approach_g03_c01.avi"
    assert (again / name).read_bytes() == (tiny / name).read_bytes()
    assert not np.array_equal(render([1, 2], [1, 3], 5, False, 6), render([0, 2], [0, 3], 5, False, 6))


def test_second_class_of_a_pair_is_the_first_played_backwards():
    forward = render([0, 1], [0, 2], 1, False, 8)
    assert np.array_equal(render([0, 1], [0, 2], 1, True, 8), forward[::-1])


@pytest.mark.parametrize("pair", range(len(PAIRS)))
def test_only_the_fade_pair_stands_still(pair):
    objects = np.array(trajectory(pair, np.random.default_rng(0), 10))  # (T, objects, 4): x, y, size, opacity
    moves = np.ptp(objects[..., :3], axis=0).max() > 10
    assert moves == (PAIRS[pair][0] not in MOTIONLESS)
    assert (np.ptp(objects[..., 3]) > 0.5) == (PAIRS[pair][0] in MOTIONLESS)


def test_synth_actions_command_writes_a_data_set(tmp_path):
    out = tmp_path / "data"
    result = subprocess.run([sys.executable, "-m", "lrcn", "synth", "actions", "--out", str(out),
                             "--videos-per-class", "2", "--frames", "3", "--seed", "1"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert len(read_split(out, 1, "train")) == len(read_split(out, 1, "test")) == len(CLASSES)
    assert read_video(out / "FadeOut/v_FadeOut_g02_c01.avi").shape == (3, 240, 320, 3)
