from pathlib import Path

import pytest

from lrcn.data.ucf101 import VideoItem, read_classes, read_split
from lrcn.errors import LrcnError

CLASS_IND = "1 ApplyEyeMakeup\r\n2 ApplyLipstick\r\n3 Archery\r\n"
TRAIN = "ApplyEyeMakeup/v_ApplyEyeMakeup_g08_c01.avi 1\r\nApplyLipstick/v_ApplyLipstick_g09_c02.avi 2\r\nArchery/v_Archery_g10_c03.avi 3\r\n"
TEST = "ApplyEyeMakeup/v_ApplyEyeMakeup_g01_c01.avi\r\nArchery/v_Archery_g07_c05.avi\r\n"


def _ucf(root: Path, nested: bool = True, **files: str) -> Path:
    lists = root / "ucfTrainTestlist" if nested else root
    lists.mkdir(parents=True, exist_ok=True)
    contents = {"classInd.txt": CLASS_IND, "trainlist01.txt": TRAIN, "testlist01.txt": TEST, **files}
    for name, text in contents.items():
        (lists / name).write_bytes(text.encode())
    return root


def test_reads_the_official_layout_with_crlf_line_ends(tmp_path):
    root = _ucf(tmp_path)
    assert read_classes(root) == ["ApplyEyeMakeup", "ApplyLipstick", "Archery"]
    train = read_split(root, 1, "train")
    assert train[0] == VideoItem(root / "ApplyEyeMakeup/v_ApplyEyeMakeup_g08_c01.avi", 0, 8)
    assert [it.label for it in train] == [0, 1, 2]
    assert [it.group for it in train] == [8, 9, 10]


def test_test_list_labels_come_from_the_class_folder(tmp_path):
    test = read_split(_ucf(tmp_path), 1, "test")
    assert [(it.path.name, it.label, it.group) for it in test] == [
        ("v_ApplyEyeMakeup_g01_c01.avi", 0, 1), ("v_Archery_g07_c05.avi", 2, 7)]


def test_lists_at_the_root_and_videos_under_ucf_101_are_found(tmp_path):
    root = _ucf(tmp_path, nested=False)
    (root / "UCF-101").mkdir()
    assert read_split(root, 1, "test")[0].path == root / "UCF-101/ApplyEyeMakeup/v_ApplyEyeMakeup_g01_c01.avi"


def test_missing_videos_are_not_checked_here(tmp_path):
    assert not read_split(_ucf(tmp_path), 1, "train")[0].path.exists()


@pytest.mark.parametrize("files, where, problem", [
    ({"trainlist01.txt": TRAIN + "Archery/v_Archery_g11_c01.avi x\n"}, "trainlist01.txt:4", "label 'x'"),
    ({"trainlist01.txt": TRAIN + "Archery/v_Archery_g11_c01.avi 9\n"}, "trainlist01.txt:4", "label '9'"),
    ({"trainlist01.txt": "Archery/v_Archery_g11_c01.avi 1\n"}, "trainlist01.txt:1", "does not match"),
    ({"trainlist01.txt": "Archery/v.avi 3 extra\n"}, "trainlist01.txt:1", "expected"),
    ({"testlist01.txt": TEST + "\nBowling/v_Bowling_g01_c01.avi\n"}, "testlist01.txt:4", "'Bowling' is not in classInd"),
    ({"testlist01.txt": "v_Archery_g01_c01.avi\n"}, "testlist01.txt:1", "expected"),
    ({"classInd.txt": "1 A\n3 B\n"}, "classInd.txt:2", "out of order"),
    ({"classInd.txt": "1 A\nB\n"}, "classInd.txt:2", "expected"),
    ({"classInd.txt": "\n"}, "classInd.txt", "no classes"),
])
def test_malformed_lists_name_the_file_and_line(tmp_path, files, where, problem):
    root = _ucf(tmp_path, **files)
    subset = "test" if "testlist01.txt" in files else "train"
    with pytest.raises(LrcnError, match=problem) as e:
        read_split(root, 1, subset)
    assert where in str(e.value) and "\n" not in str(e.value)


def test_missing_files_and_bad_splits_are_errors(tmp_path):
    with pytest.raises(LrcnError, match="classInd.txt: no such file"):
        read_classes(tmp_path)
    root = _ucf(tmp_path)
    with pytest.raises(LrcnError, match="testlist02.txt: no such file"):
        read_split(root, 2, "test")
    with pytest.raises(LrcnError, match="split 4"):
        read_split(root, 4, "train")
    with pytest.raises(LrcnError, match="subset 'val'"):
        read_split(root, 1, "val")


# Found by tests/test_fuzz_readers.py: str.isdigit() accepts what int() refuses.
@pytest.mark.parametrize("files, where, problem", [
    ({"classInd.txt": "1 A\n² B\n"}, "classInd.txt:2", "expected '<index> <ClassName>'"),  # '²'.isdigit() is True
    ({"classInd.txt": "9" * 4301 + " A\n"}, "classInd.txt:1", "expected '<index> <ClassName>'"),  # over int()'s 4300 digits
    ({"trainlist01.txt": "Archery/v_Archery_g11_c01.avi ٣\n"}, "trainlist01.txt:1", "label '٣' is not a class index"),
    ({"trainlist01.txt": "Archery/v_Archery_g11_c01.avi " + "0" * 4400 + "3\n"}, "trainlist01.txt:1", "is not a class index"),
])
def test_unicode_digits_and_huge_numbers_are_malformed_lines(tmp_path, files, where, problem):
    with pytest.raises(LrcnError, match=problem) as e:
        read_split(_ucf(tmp_path, **files), 1, "train")
    assert where in str(e.value) and len(str(e.value)) < len(str(tmp_path)) + 200


def test_a_group_number_too_long_for_int_gives_no_group(tmp_path):
    root = _ucf(tmp_path, **{"trainlist01.txt": f"Archery/v_Archery_g{'1' * 5000}_c01.avi 3\n"})
    assert read_split(root, 1, "train")[0].group is None


def test_a_very_long_line_is_quoted_cut_short(tmp_path):
    root = _ucf(tmp_path, **{"classInd.txt": "x" * 200_000 + "\n"})
    with pytest.raises(LrcnError, match=r"classInd.txt:1: expected .*, got 'x{60}\.\.\.'$"):
        read_classes(root)
