import pytest

from lrcn.data.flickr30k import read_token_file
from lrcn.errors import LrcnError

# The first lines of results_20130124.token, as distributed.
TOKEN_FILE = (
    "1000092795.jpg#0\tTwo young guys with shaggy hair look at their hands while hanging out in the yard .\n"
    "1000092795.jpg#1\tTwo young , White males are outside near many bushes .\n"
    "10002456.jpg#0\tSeveral men in hard hats are operating a giant pulley system .\n"
    "\n"
    "1000092795.jpg#2\tTwo men in green shirts are standing in a yard .\n"
)


def test_read_token_file_groups_captions_in_order(tmp_path):
    (tmp_path / "results_20130124.token").write_text(TOKEN_FILE)
    items = read_token_file(tmp_path / "results_20130124.token", tmp_path / "flickr30k-images")
    assert [(i.path, i.image_id, i.split) for i in items] == [
        (tmp_path / "flickr30k-images/1000092795.jpg", "1000092795", "all"),
        (tmp_path / "flickr30k-images/10002456.jpg", "10002456", "all"),
    ]
    assert items[0].captions == [
        "Two young guys with shaggy hair look at their hands while hanging out in the yard .",
        "Two young , White males are outside near many bushes .",
        "Two men in green shirts are standing in a yard .",
    ]


@pytest.mark.parametrize("bad_line", ["1000092795.jpg#0 no tab here", "1000092795.jpg\tno number", "1000092795.jpg#x\tbad number",
                                      "1000092795.jpg#3\t   "])
def test_malformed_line_names_file_and_line(tmp_path, bad_line):
    (tmp_path / "f.token").write_text(TOKEN_FILE + bad_line + "\n")
    with pytest.raises(LrcnError, match=r"f.token:6: expected"):
        read_token_file(tmp_path / "f.token", tmp_path)


def test_windows_line_ends_and_unicode_line_separators_inside_captions(tmp_path):
    (tmp_path / "f.token").write_bytes("a.jpg#0\tA dog\u2028jumps .\r\na.jpg#1\tA cat .\r\n".encode())
    [item] = read_token_file(tmp_path / "f.token", tmp_path)
    assert item.captions == ["A dog\u2028jumps .", "A cat ."]


def test_unreadable_token_file(tmp_path):
    (tmp_path / "latin1.token").write_bytes("a.jpg#0\tcaf\xe9\n".encode("latin-1"))
    with pytest.raises(LrcnError, match="latin1.token: not UTF-8"):
        read_token_file(tmp_path / "latin1.token", tmp_path)
    with pytest.raises(LrcnError, match="missing.token: no such file"):
        read_token_file(tmp_path / "missing.token", tmp_path)


def test_a_byte_order_mark_is_not_part_of_the_first_image_name(tmp_path):  # found by test_fuzz_readers.py
    (tmp_path / "f.token").write_bytes(b"\xef\xbb\xbf" + TOKEN_FILE.encode())
    items = read_token_file(tmp_path / "f.token", tmp_path)
    assert [i.path.name for i in items] == ["1000092795.jpg", "10002456.jpg"] and items[0].image_id == "1000092795"
