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
    with pytest.raises(LrcnError, match="no video file for 's22-d25'"):
        read_tacos(tmp_path)


# Found by tests/test_fuzz_readers.py.
@pytest.mark.parametrize("name", ["alignments-text/s22-d25.aligned.tsv", "splits/val.txt"])
def test_a_file_that_is_not_utf8_is_one_clear_error(tmp_path, name):  # was UnicodeDecodeError
    _tacos(tmp_path)
    (tmp_path / name).write_bytes("s22-d25\tcaf\xe9\n".encode("latin-1"))
    with pytest.raises(LrcnError, match=rf"{name}: not UTF-8 text"):
        read_tacos(tmp_path)


def test_a_field_over_the_csv_limit_is_one_clear_error(tmp_path):  # was _csv.Error
    _tacos(tmp_path)
    (tmp_path / "alignments-text" / "s22-d25.aligned.tsv").write_text(S13_D21 + "1\t2\t" + "x" * 200_000 + "\n")
    with pytest.raises(LrcnError, match=r"s22-d25.aligned.tsv:3: not a tab-separated row \(field larger than field limit"):
        read_tacos(tmp_path)


def test_a_byte_order_mark_and_windows_line_ends_are_accepted(tmp_path):  # a BOM made the first frame '\ufeff252'
    plain = read_tacos(_tacos(tmp_path))
    for path in [*(tmp_path / "alignments-text").iterdir(), *(tmp_path / "splits").iterdir()]:
        path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes().replace(b"\n", b"\r\n"))
    assert read_tacos(tmp_path) == plain


def test_ids_and_cells_in_messages_are_quoted_on_one_short_line(tmp_path):
    _tacos(tmp_path)
    (tmp_path / "alignments-text" / "s\u202899.aligned.tsv").write_text(S13_D21)
    with pytest.raises(LrcnError, match=r"video\(s\) in no split: 's\\u202899'$"):
        read_tacos(tmp_path)
    (tmp_path / "alignments-text" / "s22-d25.aligned.tsv").write_text("x" * 5000 + "\t2\ta\tb\tc\td\tA sentence.\n")
    (tmp_path / "alignments-text" / "s\u202899.aligned.tsv").unlink()
    with pytest.raises(LrcnError, match=r"s22-d25.aligned.tsv:1: start/end frames must be integers, got 'x{60}\.\.\.', '2'$"):
        read_tacos(tmp_path)
