import json
import shutil

import pytest
import torch

from lrcn.data.text import SPECIALS, Vocabulary, encode_batch, tokenize
from lrcn.errors import LrcnError


@pytest.mark.parametrize("sentence, tokens", [
    ("A red circle.", ["a", "red", "circle"]),
    ("  Two   BIG\tsquares,\nleft of a cross!  ", ["two", "big", "squares", "left", "of", "a", "cross"]),
    ("A man's dog doesn't run.", ["a", "man", "'s", "dog", "does", "n't", "run"]),
    ("It's 5 o'clock -- we're \"late\" (really)", ["it", "'s", "5", "o'clock", "we", "'re", "late", "really"]),
    ("A black-and-white cat sits at 10:30 on 3.5 cushions", ["a", "black-and-white", "cat", "sits", "at", "10:30", "on", "3.5", "cushions"]),
    ("I can't, they've, you'll, I'd, I'm", ["i", "ca", "n't", "they", "'ve", "you", "'ll", "i", "'d", "i", "'m"]),
    ("The dogs' bowls", ["the", "dogs", "bowls"]),
    ("Un café crème", ["un", "café", "crème"]),
    ("...", []),
])
def test_tokenize(sentence, tokens):
    assert tokenize(sentence) == tokens


SIMPLE_CAPTIONS = [
    "A man's dog doesn't run.",
    "Two young guys with shaggy hair look at their hands while hanging out in the yard.",
    "A black-and-white cat, on a sofa!",
    "There are 3 red circles; left of a BLUE square...",
    "It's 5 o'clock -- we're \"late\" (really)",
    "I can't see: they've gone, you'll see.",
]


@pytest.mark.skipif(shutil.which("java") is None, reason="the reference PTB tokenizer needs Java")
def test_tokenize_matches_the_coco_evaluation_ptb_tokenizer():
    from pycocoevalcap.tokenizer.ptbtokenizer import PTBTokenizer

    ptb = PTBTokenizer().tokenize({i: [{"caption": c}] for i, c in enumerate(SIMPLE_CAPTIONS)})
    for i, caption in enumerate(SIMPLE_CAPTIONS):
        reference = [t for t in ptb[i][0].split() if t not in ("-lrb-", "-rrb-")]  # the PTB filter misses lowercased brackets
        assert tokenize(caption) == reference


def test_vocabulary_keeps_words_seen_min_count_times_most_frequent_first():
    sentences = [["a", "red", "circle"]] * 5 + [["a", "blue", "square"]] * 4 + [["a", "red", "x"]]
    vocab = Vocabulary.build(sentences, min_count=5)
    assert vocab.words == [*SPECIALS, "a", "red", "circle"]
    assert (vocab.pad, vocab.bos, vocab.eos, vocab.unk) == (0, 1, 2, 3)
    assert len(vocab) == 7 and "blue" not in vocab
    assert Vocabulary.build(sentences, min_count=4).words[4:] == ["a", "red", "circle", "blue", "square"]
    assert len(Vocabulary.build(sentences, min_count=1)) == 4 + 6


def test_encode_maps_unknown_words_and_truncates():
    vocab = Vocabulary.build([["a", "red", "circle"]], min_count=1)
    assert vocab.encode(["a", "green", "circle"]) == [vocab.index["a"], vocab.unk, vocab.index["circle"]]
    assert vocab.encode(["a"] * 30) == [vocab.index["a"]] * 20
    assert vocab.encode(["a"] * 30, max_len=3) == [vocab.index["a"]] * 3


def test_decode_stops_at_eos_and_skips_specials():
    vocab = Vocabulary.build([["a", "red", "circle"]], min_count=1)
    a, red, circle = (vocab.index[w] for w in ("a", "red", "circle"))
    assert vocab.decode([vocab.bos, a, vocab.unk, red, circle, vocab.eos, a, a]) == "a red circle"
    assert vocab.decode(torch.tensor([a, red, vocab.pad])) == "a red"
    assert vocab.decode([vocab.eos, a]) == ""


def test_encode_decode_round_trip():
    tokens = tokenize("Two small green triangles above a big red circle.")
    vocab = Vocabulary.build([tokens], min_count=1)
    assert vocab.decode(vocab.encode(tokens)) == " ".join(tokens)


def test_save_load_round_trip(tmp_path):
    vocab = Vocabulary.build([["b", "a", "a"]], min_count=1)
    vocab.save(tmp_path / "run" / "vocab.json")
    loaded = Vocabulary.load(tmp_path / "run" / "vocab.json")
    assert loaded.words == vocab.words == [*SPECIALS, "a", "b"]
    assert [p.name for p in (tmp_path / "run").iterdir()] == ["vocab.json"]  # no temporary file left behind


@pytest.mark.parametrize("content", ["", "{", "[1, 2]", json.dumps({"words": ["a"]}),
                                     json.dumps({"format": "lrcn-vocabulary", "words": ["a", "b"]})])
def test_load_of_a_bad_file_is_an_lrcnerror(tmp_path, content):
    (tmp_path / "vocab.json").write_text(content)
    with pytest.raises(LrcnError, match="vocab.json"):
        Vocabulary.load(tmp_path / "vocab.json")
    with pytest.raises(LrcnError, match="missing.json"):
        Vocabulary.load(tmp_path / "missing.json")


def test_encode_batch_shifts_targets_and_pads():
    vocab = Vocabulary.build([["a", "red", "circle"]], min_count=1)
    a, red, circle = (vocab.index[w] for w in ("a", "red", "circle"))
    inputs, targets = encode_batch(vocab, [["a", "red", "circle"], ["red"]])
    assert inputs.dtype == targets.dtype == torch.long
    assert inputs.tolist() == [[vocab.bos, a, red, circle], [vocab.bos, red, 0, 0]]
    assert targets.tolist() == [[a, red, circle, vocab.eos], [red, vocab.eos, 0, 0]]
    inputs, targets = encode_batch(vocab, [["a"] * 50], max_len=20)
    assert inputs.shape == targets.shape == (1, 21) and targets[0, -1] == vocab.eos
