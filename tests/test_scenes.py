import json
import re

import numpy as np
import pytest

from cli import lrcn
from lrcn.data.coco import read_coco, read_karpathy
from lrcn.data.images import load_image
from lrcn.data.synthetic.scene_captions import NOUNS, direction
from lrcn.data.synthetic.scenes import COLOURS, make_scene, sample_scene, write_scenes
from lrcn.data.text import tokenize

SCENES = [make_scene(seed=0, index=i) for i in range(600)]


@pytest.fixture(scope="module")
def small_set(tmp_path_factory):
    out = tmp_path_factory.mktemp("scenes")
    return write_scenes(out, seed=3, num_train=8, num_val=2, num_test=4, image_size=96, workers=1)


def test_layout_is_read_by_the_real_readers(small_set):
    for split, n in (("train", 8), ("val", 2), ("test", 4)):
        items = read_coco(small_set / "annotations" / f"captions_{split}.json", small_set / "images", split)
        assert len(items) == n and all(len(i.captions) == 5 and i.path.is_file() for i in items)
    karpathy = read_karpathy(small_set / "dataset_scenes.json", small_set)
    assert [i.split for i in karpathy] == ["train"] * 8 + ["val"] * 2 + ["test"] * 4
    coco_test = read_coco(small_set / "annotations" / "captions_test.json", small_set / "images", "test")
    assert [(i.path, i.captions) for i in karpathy[-4:]] == [(i.path, i.captions) for i in coco_test]
    assert load_image(karpathy[0].path).size == (96, 96)
    sentence = json.loads((small_set / "dataset_scenes.json").read_text())["images"][0]["sentences"][0]
    assert sentence["tokens"] == tokenize(sentence["raw"])


def test_same_seed_same_bytes_whatever_the_worker_count(small_set, tmp_path):
    pooled = write_scenes(tmp_path / "pooled", seed=3, num_train=8, num_val=2, num_test=4, image_size=96, workers=2)
    for name in ("dataset_scenes.json", "annotations/captions_train.json", "images/scene_000013.jpg"):
        assert (pooled / name).read_bytes() == (small_set / name).read_bytes()
    other = write_scenes(tmp_path / "other", seed=4, num_train=8, num_val=2, num_test=4, image_size=96)
    assert (other / "dataset_scenes.json").read_bytes() != (small_set / "dataset_scenes.json").read_bytes()


def test_process_pool_writes_what_one_process_writes(tmp_path):
    pooled = write_scenes(tmp_path / "pooled", seed=1, num_train=100, num_val=0, num_test=10, image_size=64, workers=2)
    single = write_scenes(tmp_path / "single", seed=1, num_train=100, num_val=0, num_test=10, image_size=64, workers=1)
    assert (pooled / "dataset_scenes.json").read_bytes() == (single / "dataset_scenes.json").read_bytes()
    assert (pooled / "images/scene_000077.jpg").read_bytes() == (single / "images/scene_000077.jpg").read_bytes()


def test_image_shows_each_object_in_its_colour(small_set):
    for i in range(14):
        scene = sample_scene(np.random.default_rng([3, i, 0]))
        pixels = np.asarray(load_image(small_set / "images" / f"scene_{i:06d}.jpg")).astype(int)
        for o in scene.objects:
            centre = pixels[int(o.y * 96) - 1 : int(o.y * 96) + 2, int(o.x * 96) - 1 : int(o.x * 96) + 2].reshape(-1, 3).mean(0)
            assert np.abs(centre - COLOURS[o.colour]).max() < 45, (i, o)


def test_every_caption_names_every_object_colour_and_shape():
    for scene, captions in SCENES:
        assert len(captions) == len(set(captions)) == 5
        for caption in captions:
            words = " ".join(tokenize(caption))
            assert 3 <= len(tokenize(caption)) <= 20
            for o in scene.objects:
                assert o.colour in words and re.search("|".join(NOUNS[o.shape]), words), (caption, scene)


RELATION_WORDS = {"left of": "left", "right of": "right", "above": "above", "over": "above", "below": "below", "under": "below",
                  "beneath": "below"}


def test_stated_relations_hold_in_the_scene():
    checked = 0
    for scene, captions in SCENES:
        if len(scene.objects) != 2 or scene.objects[0].colour == scene.objects[1].colour:
            continue
        by_colour = {o.colour: o for o in scene.objects}
        for caption in captions:
            text = " ".join(tokenize(caption)).replace("one above the other", "")  # true, but says not which is on top
            for phrase, where in RELATION_WORDS.items():
                before, _, after = text.partition(f" {phrase} ")
                if after and not after.startswith("it"):  # "<colour> <shape> [is] [to the] left of <article> [size] <colour> <shape>"
                    first = [w for w in before.split() if w in by_colour][-1]
                    second = [w for w in after.split() if w in by_colour][0]
                    assert direction(by_colour[first], by_colour[second]) == where, caption
                    checked += 1
    assert checked > 300


def test_every_layout_holds_its_stated_relations_and_margins():
    from lrcn.data.synthetic.scenes import LAYOUTS, MARGIN, STATED

    assert {scene.layout for scene, _ in SCENES} == set(LAYOUTS)
    for scene, _ in SCENES:
        for i, j, where in STATED[scene.layout]:
            assert direction(scene.objects[i], scene.objects[j]) == where
        assert all(MARGIN <= o.x - o.r and o.x + o.r <= 1 - MARGIN and MARGIN <= o.y - o.r and o.y + o.r <= 1 - MARGIN
                   for o in scene.objects)


def test_phrasings_vary():
    skeletons = set()
    for scene, captions in SCENES:
        for caption in captions:
            words = tokenize(caption)
            skeletons.add(" ".join("X" if w in COLOURS or w in {"big", "large", "small", "little", "tiny"} else w for w in words))
    assert len(skeletons) > 300
    first_words = {tokenize(c)[0] for _, captions in SCENES for c in captions}
    assert {"a", "an", "the", "there", "two", "three"} <= first_words


def test_test_scenes_are_rarely_seen_whole_in_training():
    train = {sample_scene(np.random.default_rng([0, i, 0])).key() for i in range(4000)}
    test = [sample_scene(np.random.default_rng([0, i, 0])) for i in range(4500, 5000)]
    several = [s for s in test if len(s.objects) > 1]
    assert np.mean([s.key() in train for s in several]) < 0.1
    assert np.mean([s.key() in train for s in test]) < 0.2


def test_cli_writes_the_data_set_and_rejects_a_file_as_out(tmp_path):
    lrcn("synth", "scenes", "--out", tmp_path / "s", "--train", 3, "--val", 1, "--test", 2)
    assert len(read_karpathy(tmp_path / "s" / "dataset_scenes.json", tmp_path / "s")) == 6
    (tmp_path / "file").write_text("x")
    done = lrcn("synth", "scenes", "--out", tmp_path / "file", check=False)
    assert done.returncode == 1 and "file: exists and is not a folder" in done.stderr and "Traceback" not in done.stderr
