import pytest
import torch

from lrcn.metrics.retrieval import (annotation_ranks, median_rank, normalise_logp, recall_at_k, retrieval_metrics,
                                    search_ranks)

pytestmark = pytest.mark.cpu_kinds  # make test runs these again held to AVX2

# 3 images, 5 captions: captions 0,1 belong to image 0, caption 2 to image 1, captions 3,4 to image 2
OWNER = torch.tensor([0, 0, 1, 2, 2])
SCORES = torch.tensor([
    [5.0, 1.0, 4.0, 0.0, 6.0],
    [3.0, 2.0, 1.0, 0.5, 0.0],
    [0.0, 9.0, 2.0, 8.0, 7.0],
])


def test_annotation_rank_is_the_rank_of_the_best_placed_own_caption():
    # image 0: own best 5.0, above it 6.0 -> rank 2; image 1: own 1.0, above it 3.0, 2.0 -> rank 3;
    # image 2: own best 8.0, above it 9.0 -> rank 2
    assert annotation_ranks(SCORES, OWNER).tolist() == [2, 3, 2]


def test_search_rank_is_the_rank_of_the_own_image():
    # caption 0: column [5,3,0], own image 0 -> 1; caption 1: [1,2,9] own 0 -> 3; caption 2: [4,1,2] own 1 -> 3
    # caption 3: [0,.5,8] own 2 -> 1; caption 4: [6,0,7] own 2 -> 1
    assert search_ranks(SCORES, OWNER).tolist() == [1, 3, 3, 1, 1]


def test_ties_count_against_the_query():
    flat = torch.zeros(3, 5)
    assert annotation_ranks(flat, OWNER).tolist() == [4, 5, 4]
    assert search_ranks(flat, OWNER).tolist() == [3] * 5


def test_recall_and_median_by_hand():
    ranks = torch.tensor([1, 3, 3, 1, 1, 12])
    assert recall_at_k(ranks, 1) == pytest.approx(50.0)
    assert recall_at_k(ranks, 5) == pytest.approx(100 * 5 / 6)
    assert recall_at_k(ranks, 10) == pytest.approx(100 * 5 / 6)
    assert median_rank(ranks) == 2.0  # (1 1 1 3 3 12): middle two 1 and 3
    assert median_rank(torch.tensor([4, 1, 9])) == 4.0


def test_normalisation_divides_by_the_captions_mean_likelihood_over_images():
    logp = torch.log(torch.tensor([[0.2, 0.01], [0.6, 0.03]]))
    expected = torch.log(torch.tensor([[0.2 / 0.4, 0.01 / 0.02], [0.6 / 0.4, 0.03 / 0.02]]))
    torch.testing.assert_close(normalise_logp(logp), expected)


def test_normalisation_removes_a_captions_generic_likelihood_from_annotation():
    # caption 1 is short and likely under every image: raw log p ranks it first for image 0,
    # normalised it drops below image 0's own caption 0
    logp = torch.log(torch.tensor([[0.010, 0.30], [0.001, 0.30]]))
    owner = torch.tensor([0, 1])
    assert annotation_ranks(logp, owner)[0] == 2
    assert annotation_ranks(normalise_logp(logp), owner)[0] == 1
    # search is unchanged: the normaliser is constant over images for a caption
    assert torch.equal(search_ranks(logp, owner), search_ranks(normalise_logp(logp), owner))


def test_retrieval_metrics_shape_and_chance_level():
    torch.manual_seed(0)
    owner = torch.arange(200).repeat_interleave(5)
    m = retrieval_metrics(torch.randn(200, 1000), owner)
    assert set(m) == {"annotation", "search"} and set(m["search"]) == {"r1", "r5", "r10", "medr"}
    assert m["search"]["r1"] < 3 and 70 < m["search"]["medr"] < 130  # chance: R@1 0.5 %, medr ~100
    perfect = retrieval_metrics(torch.eye(200).repeat_interleave(5, 1), owner)
    assert perfect["annotation"] == {"r1": 100.0, "r5": 100.0, "r10": 100.0, "medr": 1.0}
    assert perfect["search"]["medr"] == 1.0
