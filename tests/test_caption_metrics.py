import pytest

from lrcn.errors import LrcnError
from lrcn.metrics import captions
from lrcn.metrics.captions import METRICS, caption_scores, caption_scores_many

REFS = {
    "img1.jpg": ["A red circle is left of a blue square.", "a red ball beside a blue box"],
    2: ["Two green triangles."],
}


@pytest.fixture(scope="module")
def scored():
    return caption_scores_many(REFS, {
        "exact": {"img1.jpg": "a red circle is left of a blue square", 2: "two green triangles"},
        "partial": {"img1.jpg": "a red circle", 2: "one yellow star"},
        "unigram": {"img1.jpg": "red circle blue", 2: "two green triangles"},
    })


def test_a_caption_equal_to_a_reference_scores_one_on_bleu_meteor_rouge(scored):
    exact = scored["exact"]
    assert set(exact) == set(METRICS)
    for name in ("bleu1", "bleu4", "meteor", "rouge_l"):
        assert exact[name] == pytest.approx(1.0, abs=1e-6)


def test_worse_captions_score_lower_on_every_metric(scored):
    assert all(scored["partial"][m] < scored["exact"][m] for m in METRICS)


def test_bleu1_by_hand(scored):
    # every hypothesis word is in a reference: precision 6/6. Hypothesis length 3 + 3 = 6; closest reference
    # lengths 7 ("a red ball beside a blue box") + 3 = 10, so the brevity penalty is exp(1 - 10/6).
    import math

    assert scored["unigram"]["bleu1"] == pytest.approx(math.exp(1 - 10 / 6), abs=1e-6)


def test_ids_must_match_and_missing_java_is_a_clear_error(monkeypatch):
    with pytest.raises(ValueError, match="not the ids"):
        caption_scores(REFS, {"img1.jpg": "a red circle"})
    monkeypatch.setattr(captions.shutil, "which", lambda name: None)
    with pytest.raises(LrcnError, match="java"):
        caption_scores(REFS, {"img1.jpg": "a", 2: "b"})
