import numpy as np
import pytest

from lrcn.data.tacos import read_tacos
from lrcn.data.video import write_video
from lrcn.errors import LrcnError

# Two rows in the TACoS aligned-text format: frames, activity, tool, object, "source,target", sentences.
S13_D21 = (
    "252\t452\ttake out\thand\tcutting board\tcounter,drawer\tThe person takes out a cutting board.\t"
    "He gets a cutting board from the drawer.\t\n"
    "453\t600\t\t\t\t\tThe person washes the carrot.\n"
)


def _tacos(tmp_path, splits=True):
    (tmp_path / "alignments-text").mkdir()
    (tmp_path / "videos").mkdir()
    for vid in ("s13-d21", "s22-d25", "s27-d34"):
        (tmp_path / "alignments-text" / f"{vid}.aligned.tsv").write_text(S13_D21)
        write_video(tmp_path / "videos" / f"{vid}.avi", np.zeros((2, 16, 16, 3), np.uint8))
    if splits:
        (tmp_path / "splits").mkdir()
        for name, vid in (("train", "s13-d21"), ("val", "s22-d25"), ("test", "s27-d34")):
            (tmp_path / "splits" / f"{name}.txt").write_text(vid + "\n")
    return tmp_path


def test_reads_intervals_sentences_and_sr_tuples(tmp_path):
    items = read_tacos(_tacos(tmp_path))
    first = [i for i in items if i.video.stem == "s13-d21"]
    assert len(items) == 6 and len(first) == 2
    a, b = first
    assert (a.start, a.end, a.split) == (252, 452, "train")
    assert a.sentences == ["The person takes out a cutting board.", "He gets a cutting board from the drawer."]
    assert a.sr == {"activity": "take out", "tool": "hand", "object": "cutting board", "source": "counter", "target": "drawer"}
    assert b.sr is None and b.sentences == ["The person washes the carrot."]
    assert {i.split for i in items} == {"train", "val", "test"}


def test_without_split_files_whole_videos_are_split_by_seed(tmp_path):
    items = read_tacos(_tacos(tmp_path, splits=False), seed=3)
    by_video = {}
    for i in items:
        by_video.setdefault(i.video.stem, set()).add(i.split)
    assert all(len(s) == 1 for s in by_video.values())
    assert [i.split for i in read_tacos(tmp_path, seed=3)] == [i.split for i in items]


@pytest.mark.parametrize("row, message", [
    ("1\t2\ttake\thand\tcarrot\tbowl,plate\n", "columns"),
    ("x\t2\ttake\thand\tcarrot\tbowl,plate\ta sentence\n", "integers"),
    ("9\t2\ttake\thand\tcarrot\tbowl,plate\ta sentence\n", "frame range"),
    ("1\t2\ttake\t\tcarrot\tbowl,plate\ta sentence\n", "incomplete SR"),
    ("1\t2\ttake\thand\tcarrot\tbowl,plate\t\t\n", "no sentence"),
])
def test_malformed_rows_name_the_file_and_line(tmp_path, row, message):
    _tacos(tmp_path)
    (tmp_path / "alignments-text" / "s22-d25.aligned.tsv").write_text(row)
    with pytest.raises(LrcnError, match=rf"s22-d25.aligned.tsv:1: .*{message}"):
        read_tacos(tmp_path)


def test_missing_video_or_folder_is_one_clear_error(tmp_path):
    with pytest.raises(LrcnError, match="not a TACoS folder"):
        read_tacos(tmp_path)
    _tacos(tmp_path)
    (tmp_path / "videos" / "s22-d25.avi").unlink()
    with pytest.raises(LrcnError, match="no video file for s22-d25"):
        read_tacos(tmp_path)
