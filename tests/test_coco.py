import json
from pathlib import Path

import pytest

from lrcn.data.coco import ImageCaptions, read_coco, read_karpathy, select_split
from lrcn.errors import LrcnError

# The layout of annotations/captions_val2014.json, trimmed to two images (ids and captions as in the real file).
COCO_CAPTIONS = {
    "info": {"description": "This is stable 1.0 version of the 2014 MS COCO dataset.", "version": "1.0", "year": 2014},
    "images": [
        {"license": 3, "url": "http://farm4.staticflickr.com/3153/2970773875_164f0c0b83_z.jpg", "file_name": "COCO_val2014_000000391895.jpg",
         "height": 360, "width": 640, "date_captured": "2013-11-14 11:18:45", "id": 391895},
        {"license": 4, "url": "http://farm7.staticflickr.com/6018/5954680429_9cef5ed0de_z.jpg", "file_name": "COCO_val2014_000000522418.jpg",
         "height": 480, "width": 640, "date_captured": "2013-11-14 11:38:44", "id": 522418},
        {"license": 4, "url": "", "file_name": "COCO_val2014_000000000042.jpg", "height": 1, "width": 1, "date_captured": "", "id": 42},
    ],
    "licenses": [{"url": "http://creativecommons.org/licenses/by-nc-sa/2.0/", "id": 1, "name": "Attribution-NonCommercial-ShareAlike License"}],
    "annotations": [
        {"image_id": 391895, "id": 770337, "caption": "A man with a red helmet on a small moped on a dirt road. "},
        {"image_id": 522418, "id": 771687, "caption": "A woman wearing a net on her head cutting a cake. "},
        {"image_id": 391895, "id": 771687, "caption": "Man riding a motor bike on a dirt road on the countryside."},
        {"image_id": 522418, "id": 772707, "caption": "A woman cutting a large white sheet cake."},
    ],
}

# The layout of Karpathy's dataset_coco.json (with filepath and cocoid) ...
KARPATHY_COCO = {"images": [
    {"filepath": "val2014", "sentids": [770337, 771687], "filename": "COCO_val2014_000000391895.jpg", "imgid": 0, "split": "test",
     "sentences": [{"tokens": ["a", "man", "with", "a", "red", "helmet"], "raw": "A man with a red helmet.", "imgid": 0, "sentid": 770337},
                   {"tokens": ["man", "riding", "a", "motor", "bike"], "raw": "Man riding a motor bike.", "imgid": 0, "sentid": 771687}],
     "cocoid": 391895},
    {"filepath": "train2014", "sentids": [1], "filename": "COCO_train2014_000000057870.jpg", "imgid": 1, "split": "restval",
     "sentences": [{"tokens": ["a", "restaurant"], "raw": "A restaurant.", "imgid": 1, "sentid": 1}], "cocoid": 57870},
], "dataset": "coco"}

# ... and of dataset_flickr30k.json (no filepath, no cocoid).
KARPATHY_FLICKR = {"images": [
    {"sentids": [0, 1], "imgid": 0, "split": "train", "filename": "1000092795.jpg",
     "sentences": [{"tokens": ["two", "young", "guys"], "raw": "Two young guys with shaggy hair look at their hands .", "imgid": 0, "sentid": 0},
                   {"tokens": ["two", "young", "white", "males"], "imgid": 0, "sentid": 1}]},
    {"sentids": [], "imgid": 1, "split": "val", "filename": "10002456.jpg", "sentences": []},
], "dataset": "flickr30k"}


def write(path: Path, obj) -> Path:
    path.write_text(json.dumps(obj))
    return path


def test_read_coco_groups_captions_by_image_and_drops_uncaptioned_images(tmp_path):
    items = read_coco(write(tmp_path / "captions_val2014.json", COCO_CAPTIONS), tmp_path / "val2014", "val")
    assert items == [
        ImageCaptions(tmp_path / "val2014/COCO_val2014_000000391895.jpg",
                      ["A man with a red helmet on a small moped on a dirt road.", "Man riding a motor bike on a dirt road on the countryside."],
                      "val", 391895),
        ImageCaptions(tmp_path / "val2014/COCO_val2014_000000522418.jpg",
                      ["A woman wearing a net on her head cutting a cake.", "A woman cutting a large white sheet cake."], "val", 522418),
    ]


def test_read_coco_takes_a_users_folder_with_string_ids(tmp_path):
    captions = {"images": [{"id": "cat", "file_name": "cat.png"}], "annotations": [{"image_id": "cat", "caption": "A cat."}]}
    [item] = read_coco(write(tmp_path / "captions.json", captions), tmp_path, "train")
    assert (item.path, item.captions, item.image_id) == (tmp_path / "cat.png", ["A cat."], "cat")


@pytest.mark.parametrize("content, message", [
    ("{not json", "not valid JSON"),
    ("[]", "'images' list"),
    (json.dumps({"images": []}), "'annotations' list"),
    (json.dumps({"images": [{"id": 1}], "annotations": []}), r"images\[0\] has no valid 'file_name'"),
    (json.dumps({"images": [{"id": 1, "file_name": "a"}, {"id": 1, "file_name": "b"}], "annotations": []}), "repeats id 1"),
    (json.dumps({"images": [{"id": 1, "file_name": "a"}], "annotations": [{"image_id": 1}]}), r"annotations\[0\] has no valid 'caption'"),
    (json.dumps({"images": [{"id": 1, "file_name": "a"}], "annotations": [{"image_id": 2, "caption": "x"}]}), "image_id 2, not in images"),
])
def test_read_coco_structural_problem_names_the_file(tmp_path, content, message):
    (tmp_path / "caps.json").write_text(content)
    with pytest.raises(LrcnError, match=f"caps.json: .*{message}"):
        read_coco(tmp_path / "caps.json", tmp_path, "train")


@pytest.mark.parametrize("make, message", [(lambda p: None, "no such file"), (lambda p: p.mkdir(), "is a directory")])
def test_read_coco_missing_or_directory(tmp_path, make, message):
    make(tmp_path / "caps.json")
    with pytest.raises(LrcnError, match=message):
        read_coco(tmp_path / "caps.json", tmp_path, "train")


def test_read_karpathy_coco_uses_filepath_cocoid_and_keeps_restval(tmp_path):
    items = read_karpathy(write(tmp_path / "dataset_coco.json", KARPATHY_COCO), tmp_path / "coco")
    assert [(i.path, i.split, i.image_id) for i in items] == [
        (tmp_path / "coco/val2014/COCO_val2014_000000391895.jpg", "test", 391895),
        (tmp_path / "coco/train2014/COCO_train2014_000000057870.jpg", "restval", 57870),
    ]
    assert items[0].captions == ["A man with a red helmet.", "Man riding a motor bike."]
    assert select_split(items, ("train", "restval")) == [items[1]]
    assert select_split(items, "test") == [items[0]]


def test_read_karpathy_flickr_has_no_filepath_and_falls_back_to_tokens(tmp_path):
    items = read_karpathy(write(tmp_path / "dataset_flickr30k.json", KARPATHY_FLICKR), tmp_path / "flickr30k-images")
    assert items == [ImageCaptions(tmp_path / "flickr30k-images/1000092795.jpg",
                                   ["Two young guys with shaggy hair look at their hands .", "two young white males"], "train", 0)]


@pytest.mark.parametrize("image, message", [
    ({"split": "train", "sentences": []}, "'filename'"),
    ({"filename": "a.jpg", "sentences": []}, "'split'"),
    ({"filename": "a.jpg", "split": "train"}, "'sentences'"),
    ({"filename": "a.jpg", "split": "train", "sentences": [{"raw": 3}]}, r"sentences\[0\] has no valid 'tokens'"),
])
def test_read_karpathy_structural_problem_names_the_file(tmp_path, image, message):
    with pytest.raises(LrcnError, match=f"dataset.json: images\\[0\\].*{message}"):
        read_karpathy(write(tmp_path / "dataset.json", {"images": [image]}), tmp_path)


# Found by tests/test_fuzz_readers.py.
@pytest.mark.parametrize("content, message", [
    ("[" * 100_000 + "]" * 100_000, r"not valid JSON \(nested too deeply\)"),  # was RecursionError
    ('{"images": [{"id": ' + "9" * 4301 + "}]}", r"not valid JSON \(Exceeds the limit \(4300 digits\)"),  # was ValueError
])
def test_json_python_cannot_read_is_invalid_json(tmp_path, content, message):
    (tmp_path / "caps.json").write_text(content)
    for read in (lambda p: read_coco(p, tmp_path, "train"), lambda p: read_karpathy(p, tmp_path)):
        with pytest.raises(LrcnError, match=f"caps.json: {message}") as e:
            read(tmp_path / "caps.json")
        assert "\n" not in str(e.value)


def test_a_byte_order_mark_is_accepted(tmp_path):
    (tmp_path / "caps.json").write_bytes(b"\xef\xbb\xbf" + json.dumps(COCO_CAPTIONS).encode())
    assert len(read_coco(tmp_path / "caps.json", tmp_path, "val")) == 2
    (tmp_path / "dataset.json").write_bytes(b"\xef\xbb\xbf" + json.dumps(KARPATHY_COCO).encode())
    assert len(read_karpathy(tmp_path / "dataset.json", tmp_path)) == 2


@pytest.mark.parametrize("images, annotations, message", [
    ([{"id": "a\nb", "file_name": "x"}, {"id": "a\nb", "file_name": "y"}], [], r"repeats id 'a\\nb'"),
    ([], [{"image_id": "a\u2028b", "caption": "x"}], r"refers to image_id 'a\\u2028b', not in images"),
    ([], [{"image_id": "x" * 500, "caption": "x"}], r"refers to image_id 'x{60}\.\.\.', not in images"),
])
def test_a_string_id_in_a_message_is_quoted_on_one_short_line(tmp_path, images, annotations, message):
    with pytest.raises(LrcnError, match=message) as e:
        read_coco(write(tmp_path / "caps.json", {"images": images, "annotations": annotations}), tmp_path, "train")
    assert str(e.value).splitlines() == [str(e.value)] and len(str(e.value)) < len(str(tmp_path)) + 200


@pytest.mark.parametrize("ids", [{"cocoid": [1]}, {"cocoid": None, "imgid": 3}, {"imgid": {"a": 1}}, {"imgid": 1.5}])
def test_read_karpathy_id_must_be_a_number_or_a_string(tmp_path, ids):
    image = {"filename": "a.jpg", "split": "train", "sentences": [{"raw": "A cat."}], **ids}
    with pytest.raises(LrcnError, match=r"dataset.json: images\[0\] has no valid 'cocoid' or 'imgid'"):
        read_karpathy(write(tmp_path / "dataset.json", {"images": [image]}), tmp_path)
