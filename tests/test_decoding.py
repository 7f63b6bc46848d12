import pytest
import torch

from lrcn.models.captioner import Captioner
from lrcn.models.decoding import beam_search, greedy, sample, trim

BOS, EOS, V = 1, 2, 9


def _model(seed, variant="lrcn2f"):
    torch.manual_seed(seed)
    model = Captioner(V, 5, variant, embed_dim=8, hidden=12).eval()
    with torch.no_grad():  # sharper, more varied word distributions than the +-0.08 init
        model.predict.weight.mul_(25)
    return model


def _score(model, cond, tokens):
    """Log-probability of tokens + eos given cond (1, D), by teacher forcing."""
    inputs = torch.tensor([[BOS] + tokens])
    targets = torch.tensor([tokens + [EOS]])
    logp = model(cond, inputs).log_softmax(-1)[0]
    return logp.gather(1, targets[0][:, None]).sum().item()


@pytest.mark.parametrize("seed", range(6))
def test_beam_of_one_is_exactly_greedy(seed):
    model, cond = _model(seed), torch.randn(4, 5)
    tokens, logprob = greedy(model, cond, BOS, EOS, max_len=12)
    beams = beam_search(model, cond, BOS, EOS, beam_size=1, max_len=12)
    for b, words in enumerate(trim(tokens, EOS)):
        assert len(beams[b]) == 1
        assert beams[b][0][0] == words
        assert beams[b][0][1] == logprob[b].item()


@pytest.mark.parametrize("seed", range(20))
def test_wider_beam_is_sorted_and_never_below_greedy(seed):
    model, cond = _model(seed, "lrcn1u" if seed % 2 else "lrcn2f"), torch.randn(3, 5)
    _, greedy_logprob = greedy(model, cond, BOS, EOS, max_len=10)
    beams = beam_search(model, cond, BOS, EOS, beam_size=4, max_len=10)
    for b, beam in enumerate(beams):
        scores = [s for _, s in beam]
        assert scores == sorted(scores, reverse=True)
        assert len(beam) == 4
        assert scores[0] >= greedy_logprob[b].item() - 1e-4  # float sums differ in the last bits across batch shapes


def test_beam_scores_are_the_candidates_logprobs():
    model, cond = _model(3), torch.randn(2, 5)
    for b, beam in enumerate(beam_search(model, cond, BOS, EOS, beam_size=3, max_len=10)):
        for tokens, score in beam:
            if len(tokens) < 10:  # finished with eos
                assert score == pytest.approx(_score(model, cond[b : b + 1], tokens), abs=1e-4)


def test_length_normalised_score_is_mean_word_logprob():
    model, cond = _model(4), torch.randn(2, 5)
    for b, beam in enumerate(beam_search(model, cond, BOS, EOS, beam_size=3, max_len=10, length_norm=True)):
        for tokens, score in beam:
            if len(tokens) < 10:
                assert score == pytest.approx(_score(model, cond[b : b + 1], tokens) / (len(tokens) + 1), abs=1e-4)


def test_greedy_logprob_is_the_teacher_forced_logprob():
    model, cond = _model(5), torch.randn(3, 5)
    tokens, logprob = greedy(model, cond, BOS, EOS, max_len=15)
    for b, words in enumerate(trim(tokens, EOS)):
        if len(words) < 15:
            assert logprob[b].item() == pytest.approx(_score(model, cond[b : b + 1], words), abs=1e-4)


def test_sampling_keeps_the_most_likely_of_n_and_is_seeded():
    model, cond = _model(6), torch.randn(3, 5)
    gen = lambda: torch.Generator().manual_seed(0)
    t1, lp1 = sample(model, cond, BOS, EOS, n=8, temperature=1.5, max_len=10, generator=gen())
    t2, lp2 = sample(model, cond, BOS, EOS, n=8, temperature=1.5, max_len=10, generator=gen())
    assert torch.equal(t1, t2) and torch.equal(lp1, lp2)
    # the same 24 draws, one per row: the kept caption is the most likely of each image's 8
    _, each = sample(model, cond.repeat_interleave(8, 0), BOS, EOS, n=1, temperature=1.5, max_len=10, generator=gen())
    torch.testing.assert_close(lp1, each.view(3, 8).max(1).values)
    assert each.view(3, 8).std(1).gt(0).all()  # the draws differ
    for b, words in enumerate(trim(t1, EOS)):
        if len(words) < 10:
            assert lp1[b].item() == pytest.approx(_score(model, cond[b : b + 1], words), abs=1e-4)


def test_tiny_temperature_sampling_is_greedy():
    model, cond = _model(7), torch.randn(3, 5)
    tokens, _ = greedy(model, cond, BOS, EOS, max_len=10)
    sampled, _ = sample(model, cond, BOS, EOS, n=3, temperature=1e-4, max_len=10, generator=torch.Generator().manual_seed(1))
    assert trim(sampled, EOS) == trim(tokens, EOS)
