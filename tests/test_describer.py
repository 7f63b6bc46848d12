import numpy as np
import pytest
import torch

from lrcn.models.captioner import Captioner
from lrcn.models.decoding import greedy
from lrcn.data.video import even_indices
from lrcn.models.describer import VARIANTS, Describer, DescriberConfig, generator_inputs
from lrcn.models.pca import Whiten

pytestmark = pytest.mark.cpu_kinds  # make test runs these again held to AVX2

SIZES = (5, 4, 6, 5, 5)


def _inputs(variant, batch=3, frames=7, dim=16):
    g = torch.Generator().manual_seed(0)
    labels = torch.stack([torch.randint(0, n, (batch,), generator=g) for n in SIZES], dim=1)  # (B, K)
    marginals = torch.cat([torch.softmax(torch.randn(batch, n, generator=g), 1) for n in SIZES], dim=1)
    return generator_inputs(variant, torch.randn(batch, frames, dim, generator=g), labels, marginals)


@pytest.mark.parametrize("variant", VARIANTS)
def test_every_variant_is_the_captioning_decoder_with_its_own_condition(variant):
    model = Describer(30, SIZES, 16, DescriberConfig(variant=variant, embed_dim=8, hidden=12)).eval()
    assert isinstance(model.decoder, Captioner)
    x = _inputs(variant)
    logits = model(x, torch.randint(0, 30, (3, 9)))
    assert logits.shape == (3, 9, 30)
    cond = model.condition(x)
    tokens, _ = greedy(model.decoder, cond, bos=1, eos=2, max_len=5)
    assert tokens.shape[0] == 3


def test_crf_max_feeds_one_hot_per_slot_and_crf_prob_feeds_the_marginals():
    cfg = DescriberConfig(embed_dim=8, hidden=12)
    labels = _inputs("crf-max")
    one_hot = Describer(30, SIZES, 16, DescriberConfig(**{**cfg.__dict__, "variant": "crf-max"})).condition(labels)
    assert one_hot.shape == (3, sum(SIZES)) and torch.equal(one_hot.sum(1), torch.full((3,), 5.0))
    blocks = one_hot.split(SIZES, dim=1)
    assert all(torch.equal(b.argmax(1), labels[:, k]) for k, b in enumerate(blocks))
    marginals = _inputs("crf-prob")
    prob = Describer(30, SIZES, 16, DescriberConfig(**{**cfg.__dict__, "variant": "crf-prob"})).condition(marginals)
    assert torch.equal(prob, marginals)


def test_sr_encoder_reads_the_tuple_in_order():
    model = Describer(30, SIZES, 16, DescriberConfig(variant="sr-encdec", embed_dim=8, hidden=12)).eval()
    a = torch.tensor([[0, 1, 2, 3, 4]])
    b = torch.tensor([[0, 1, 2, 4, 3]])  # source and target swapped
    assert not torch.allclose(model.condition(a), model.condition(b))


def test_unknown_variant_is_refused():
    with pytest.raises(ValueError, match="choose from"):
        Describer(30, SIZES, 16, DescriberConfig(variant="crf-mean"))


def test_even_indices_spread_over_the_interval_and_stay_in_the_video():
    assert even_indices(10, 25, 100, 4).tolist() == [10, 15, 20, 25]
    assert even_indices(90, 130, 100, 3).tolist() == [90, 94, 99]
    assert even_indices(0, 1, 100, 4).tolist() == [0, 0, 1, 1]


def test_pca_whitens_the_top_components():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(500, 3, generator=g) @ torch.tensor([[5.0, 0, 0, 0, 0, 0], [0, 2.0, 0, 0, 0, 0], [0, 0, 0.5, 0, 0, 0]]) + 3
    z = Whiten(6, 2).fit(x, standardize=False)(x)
    assert z.shape == (500, 2)
    assert torch.allclose(z.mean(0), torch.zeros(2), atol=1e-4)
    assert torch.allclose(z.std(0), torch.ones(2), atol=1e-2)
    assert abs(float(np.corrcoef(z[:, 0], x[:, 0])[0, 1])) > 0.99
