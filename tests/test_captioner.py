import pytest
import torch

from lrcn.models.captioner import VARIANTS, Captioner, sentence_logprob

pytestmark = pytest.mark.cpu_kinds  # make test runs these again held to AVX2


def _model(variant, vocab=11, cond_dim=6, seed=0):
    torch.manual_seed(seed)
    return Captioner(vocab, cond_dim, variant, embed_dim=8, hidden=10).eval()


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_teacher_forcing_equals_stepping_one_word_at_a_time(variant):
    model = _model(variant)
    cond, words = torch.randn(3, 6), torch.randint(0, 11, (3, 7))
    logits = model(cond, words)  # (B, L, V)
    assert logits.shape == (3, 7, 11)
    state = model.init_state(3)
    for t in range(7):
        step_logits, state = model.step(words[:, t], state, cond)
        torch.testing.assert_close(step_logits, logits[:, t])
    assert all(s.shape[0] == 3 for s in state)


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_only_the_layers_the_variant_names_see_the_image(variant):
    model = _model(variant)
    assert [layer.static is not None for layer in model.layers] == list(VARIANTS[variant])


def test_factored_lower_layer_is_blind_to_the_image():
    model = _model("lrcn2f")
    words = torch.randint(0, 11, (2, 5))
    x = model.embed(words)
    a = model.layers[0](x, torch.randn(2, 6))
    b = model.layers[0](x, torch.randn(2, 6))
    assert torch.equal(a, b)
    assert not torch.allclose(model(torch.randn(2, 6), words), model(torch.randn(2, 6), words))


@pytest.mark.parametrize("variant", ["lrcn1u", "lrcn2f", "lrcn4f"])
def test_pair_grid_by_broadcasting_equals_scoring_each_pair(variant):
    model = _model(variant)
    images, inputs = torch.randn(4, 6), torch.randint(1, 11, (5, 6))
    targets = torch.cat([inputs[:, 1:], torch.zeros(5, 1, dtype=torch.long)], 1)
    targets[1, 3:] = 0  # caption 1 is shorter: padded with pad=0 after its end
    grid = sentence_logprob(model, images[:, None], inputs[None], targets[None], pad=0)  # (I, C)
    assert grid.shape == (4, 5)
    for i in range(4):
        one = sentence_logprob(model, images[i].expand(5, 6), inputs, targets, pad=0)
        torch.testing.assert_close(grid[i], one)


def test_sentence_logprob_ignores_padding_and_sums_word_logprobs():
    model = _model("lrcn2u")
    cond, inputs = torch.randn(1, 6), torch.tensor([[1, 4, 5, 0]])
    targets = torch.tensor([[4, 5, 2, 0]])  # 2 plays eos, 0 pad
    logp = model(cond, inputs).log_softmax(-1)[0]
    expected = logp[0, 4] + logp[1, 5] + logp[2, 2]
    torch.testing.assert_close(sentence_logprob(model, cond, inputs, targets, pad=0), expected[None])


def test_unknown_variant_is_refused():
    with pytest.raises(ValueError, match="lrcn2f"):
        Captioner(5, 3, "lrcn3x")
