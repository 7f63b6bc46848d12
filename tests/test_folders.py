import pytest

from lrcn.data.folders import read_folder, split_items
from lrcn.data.ucf101 import VideoItem
from lrcn.errors import LrcnError


def _touch(root, *names):
    for name in names:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(b"x")


def test_classes_are_sorted_folders_and_every_container_counts(tmp_path):
    _touch(tmp_path, "walk/b.MP4", "walk/a.avi", "run/x.mkv", "run/sub/y.webm", "run/z.mov",
           "run/notes.txt", "run/.hidden.mp4", ".git/c.avi", "empty/readme.md")
    classes, items = read_folder(tmp_path)
    assert classes == ["run", "walk"]
    assert [(it.path.relative_to(tmp_path).as_posix(), it.label) for it in items] == [
        ("run/sub/y.webm", 0), ("run/x.mkv", 0), ("run/z.mov", 0), ("walk/a.avi", 1), ("walk/b.MP4", 1)]


@pytest.mark.parametrize("names, problem", [((), "no class folders"), (("a/readme.txt",), "no videos"),
                                            (("loose.avi",), "no class folders")])
def test_a_folder_without_class_videos_is_an_error(tmp_path, names, problem):
    _touch(tmp_path, *names)
    with pytest.raises(LrcnError, match=problem):
        read_folder(tmp_path)


def test_a_missing_folder_is_an_error(tmp_path):
    with pytest.raises(LrcnError, match="not a folder"):
        read_folder(tmp_path / "nope")


def test_split_is_stratified_deterministic_and_keeps_a_training_video(tmp_path):
    items = [VideoItem(tmp_path / f"{c}/{i}.avi", c) for c in range(3) for i in range([8, 4, 1][c])]
    train, test = split_items(items, test_fraction=0.25, seed=0)
    assert sorted(train + test, key=items.index) == items
    assert [sum(it.label == c for it in test) for c in range(3)] == [2, 1, 0]
    assert split_items(items, 0.25, seed=0) == (train, test)
    assert split_items(items, 0.25, seed=1) != (train, test)


def test_a_negative_split_seed_is_an_error_not_a_numpy_valueerror(tmp_path):  # found by test_fuzz_readers.py
    items = [VideoItem(tmp_path / f"{i}.avi", 0) for i in range(4)]
    with pytest.raises(LrcnError, match="split seed -1: must be a non-negative integer"):
        split_items(items, 0.25, seed=-1)
