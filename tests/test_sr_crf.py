import itertools

import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from lrcn.data.tacos import SLOTS
from lrcn.models.sr import ChainCRF, SRModel


def _random_crf(sizes, batch, seed):
    g = torch.Generator().manual_seed(seed)
    crf = ChainCRF(sizes)
    with torch.no_grad():
        for p in crf.pairwise:
            p.copy_(torch.randn(p.shape, generator=g) * 2)
    unary = [torch.randn(batch, n, generator=g, dtype=torch.float32) * 2 for n in sizes]
    return crf, unary


def _brute_force(crf, unary):
    """Every tuple's log-score, enumerated: (B, prod(sizes)) and the tuples."""
    tuples = torch.tensor(list(itertools.product(*[range(n) for n in crf.sizes])))  # (N, K)
    batch = unary[0].shape[0]
    scores = torch.stack([crf.score(unary, t.expand(batch, -1)) for t in tuples], dim=1)
    return scores, tuples


sizes_strategy = st.lists(st.integers(1, 4), min_size=1, max_size=5).map(tuple)


@settings(max_examples=40, deadline=None)
@given(sizes=sizes_strategy, seed=st.integers(0, 10_000))
def test_map_equals_brute_force_argmax(sizes, seed):
    crf, unary = _random_crf(sizes, 3, seed)
    scores, tuples = _brute_force(crf, unary)
    labels, log_prob = crf.map(unary)
    best = scores.max(dim=1).values
    assert torch.allclose(crf.score(unary, labels), best, atol=1e-5)
    assert torch.allclose(log_prob, best - torch.logsumexp(scores, dim=1), atol=1e-5)


@settings(max_examples=40, deadline=None)
@given(sizes=sizes_strategy, seed=st.integers(0, 10_000))
def test_marginals_equal_brute_force_enumeration(sizes, seed):
    crf, unary = _random_crf(sizes, 3, seed)
    scores, tuples = _brute_force(crf, unary)
    probs = torch.softmax(scores, dim=1)  # (B, N)
    assert torch.allclose(crf.log_partition(unary), torch.logsumexp(scores, dim=1), atol=1e-5)
    for k, m in enumerate(crf.marginals(unary)):
        expected = torch.stack([probs[:, tuples[:, k] == i].sum(1) for i in range(sizes[k])], dim=1)
        assert torch.allclose(m, expected, atol=1e-5)


def test_marginals_sum_to_one_per_slot_even_with_extreme_potentials():
    crf, unary = _random_crf((6, 5, 7, 4, 4), 8, 0)
    unary = [u * 100 for u in unary]  # log space must not overflow
    for m in crf.marginals(unary):
        assert torch.isfinite(m).all()
        assert torch.allclose(m.sum(1), torch.ones(8), atol=1e-5)


def test_nll_training_learns_a_pairwise_constraint_the_unaries_cannot_see():
    # Slot 1 always copies slot 0, but slot 1's unary is blank: only the pairwise table can learn it.
    torch.manual_seed(0)
    crf = ChainCRF((3, 3))
    y0 = torch.randint(0, 3, (64,))
    labels = torch.stack([y0, y0], dim=1)
    unary = [torch.nn.functional.one_hot(y0, 3).float() * 3, torch.zeros(64, 3)]
    opt = torch.optim.Adam(crf.parameters(), lr=0.1)
    for _ in range(100):
        opt.zero_grad()
        crf.nll(unary, labels).backward()
        opt.step()
    pred, _ = crf.map(unary)
    assert (pred == labels).all()


def test_sr_model_gives_one_unary_per_slot():
    sizes = (5, 4, 6, 5, 5)
    model = SRModel(32, sizes).eval()
    unary = model(torch.randn(2, 16, 32))
    assert [u.shape for u in unary] == [torch.Size([2, n]) for n in sizes]
    assert len(SLOTS) == len(sizes)
