import numpy as np
import pytest

from cli import lrcn
from lrcn.data.synthetic.kitchen import KitchenConfig, render_interval, sentences, write_kitchen
from lrcn.data.tacos import read_tacos
from lrcn.data.video import read_video
from lrcn.data.tacos import SLOTS

SMALL = KitchenConfig(sessions=10, intervals_per_session=3, frames_per_interval=8)


@pytest.fixture(scope="module")
def kitchen(tmp_path_factory):
    return write_kitchen(tmp_path_factory.mktemp("kitchen"), seed=1, cfg=SMALL, workers=1)


def test_written_set_is_read_by_the_tacos_reader(kitchen):
    items = read_tacos(kitchen)
    assert len(items) == 30
    assert all(i.sr is not None and set(i.sr) == set(SLOTS) for i in items)
    assert all(2 <= len(i.sentences) <= 5 for i in items)
    assert {i.split for i in items} == {"train", "val", "test"}
    frames = read_video(items[0].video)
    assert len(frames) == 3 * 8 and frames.shape[1:] == (128, 128, 3)
    assert max(i.end for i in items if i.video == items[0].video) == 23


def test_held_out_tuples_never_appear_in_training(kitchen):
    items = read_tacos(kitchen)
    train = {tuple(i.sr.values()) for i in items if i.split == "train"}
    heldout = {tuple(i.sr.values()) for i in items if i.split != "train"}
    assert not train & heldout


def test_same_seed_same_data_other_seed_other_data(tmp_path, kitchen):
    again = write_kitchen(tmp_path / "a", seed=1, cfg=SMALL, workers=2)
    other = write_kitchen(tmp_path / "b", seed=2, cfg=SMALL, workers=1)
    name = "alignments-text/k0000.aligned.tsv"
    assert (again / name).read_text() == (kitchen / name).read_text()
    assert (other / name).read_text() != (kitchen / name).read_text()


def test_source_and_target_are_told_apart_only_by_time():
    # The same tuple with source and target swapped: the first and last frames swap too.
    rng = np.random.default_rng
    ab = render_interval(("push", "spatula", "tomato", "bowl", "sink"), 16, rng(0))
    ba = render_interval(("push", "spatula", "tomato", "sink", "bowl"), 16, rng(0))
    assert np.abs(ab[0].astype(int) - ba[0]).mean() > 0.5
    assert np.abs(ab[-1].astype(int) - ba[0]).mean() < np.abs(ab[-1].astype(int) - ab[0]).mean()


def test_faint_tool_is_fainter_but_still_drawn():
    sr = ("cut", "knife", "carrot", "board", "plate")
    plain = render_interval(sr, 16, np.random.default_rng(0)).astype(int)
    faint = render_interval(sr, 16, np.random.default_rng(0), faint="tool").astype(int)
    none = render_interval(("cut", "hand", "carrot", "board", "plate"), 16, np.random.default_rng(0)).astype(int)
    assert 0 < np.abs(faint - none).sum() < np.abs(plain - none).sum()


def test_sentences_mention_every_slot_in_varied_phrasings():
    rng = np.random.default_rng(0)
    sents = [s for _ in range(20) for s in sentences(("wash", "sponge", "egg", "plate", "sink"), rng)]
    assert len(set(sents)) > 10
    for s in sents:
        assert "wash" in s and "sponge" in s and "egg" in s and "plate" in s and "sink" in s


def test_cli_synth_kitchen(tmp_path):
    lrcn("synth", "kitchen", "--out", tmp_path, "--sessions", 3, "--workers", 1)
    assert len(read_tacos(tmp_path)) == 12
