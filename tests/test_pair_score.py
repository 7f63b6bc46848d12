import pytest
import torch

from lrcn.device import choose_precision
from lrcn.models import pair_score
from lrcn.models.captioner import VARIANTS, Captioner, sentence_logprob
from lrcn.models.pair_score import pair_logprob
from machine import needs_bf16, needs_int8

pytestmark = pytest.mark.cpu_kinds  # make test runs these again held to AVX2

PAD = 0


def _grid(variant, images=5, captions=23, vocab=30, seed=0):
    """A captioner and ragged captions (1-8 words, some padding) with a reference grid from the model's forward."""
    torch.manual_seed(seed)
    model = Captioner(vocab, 12, variant, embed_dim=10, hidden=16).eval()
    lengths = torch.randint(1, 9, (captions,))
    targets = torch.randint(3, vocab, (captions, 9))
    targets[torch.arange(9)[None] >= lengths[:, None]] = PAD
    inputs = torch.randint(3, vocab, (captions, 9)).masked_fill(targets == PAD, PAD)
    cond = torch.randn(images, 12)
    with torch.no_grad():
        reference = sentence_logprob(model, cond[:, None], inputs[None], targets[None], PAD, floor=1e-12)  # (I, C)
    return model, cond, inputs, targets, reference


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_fp32_pairs_equal_the_models_own_forward_across_blocks(variant):
    model, cond, inputs, targets, reference = _grid(variant)
    blocks = []
    got = pair_logprob(model, cond, inputs, targets, PAD, precision="fp32", captions_per_block=4, images_per_block=2,
                       compile=False, progress=lambda b: blocks.extend(b) or b)
    torch.testing.assert_close(got, reference, atol=1e-4, rtol=1e-5)
    assert len(blocks) == 6 * 3  # ceil(23 / 4) caption blocks x ceil(5 / 2) image blocks


@pytest.mark.parametrize("precision, atol", [pytest.param("bf16", 0.01, marks=needs_bf16),
                                             pytest.param("int8", 0.03, marks=needs_int8)])
@pytest.mark.parametrize("variant", list(VARIANTS))
def test_reduced_precisions_stay_near_fp32(variant, precision, atol):
    # bf16 rounds products to 8 bits of mantissa; int8 rounds h to steps of 1/127 and each weight row to 1/127 of
    # its largest entry: about 3e-3 here on a sum of up to 8 words' log-probabilities (each ~ -3.4). No ranking
    # whose fp32 scores differ by more than twice that can change.
    model, cond, inputs, targets, reference = _grid(variant, images=6, captions=40, seed=1)
    error = (pair_logprob(model, cond, inputs, targets, PAD, precision=precision, captions_per_block=16,
                          compile=False) - reference).abs().max()
    assert 0 < error < atol  # not 0: the products did run in the reduced precision


def test_the_compiled_step_scores_as_the_eager_one():
    from torch._dynamo.utils import counters

    model, cond, inputs, targets, reference = _grid("lrcn4f")  # two pair layers: the concatenated input too
    eager = pair_logprob(model, cond, inputs, targets, PAD, captions_per_block=8, compile=False)
    compiled = pair_logprob(model, cond, inputs, targets, PAD, captions_per_block=8, compile=True)
    assert not pair_score._step(True).failed and counters["stats"]["unique_graphs"] > 0  # it did run compiled
    torch.testing.assert_close(compiled, eager, atol=1e-3, rtol=0)  # fused float32 sums may move a 1/127 step
    assert (compiled - reference).abs().max() < 0.03


def test_a_step_that_cannot_compile_runs_eagerly_and_says_so(monkeypatch):
    def broken(*args):
        raise RuntimeError("no C++ compiler")

    monkeypatch.setattr(torch, "compile", lambda fn, **kw: broken)
    step = pair_score.Compiled(pair_score.pair_step)
    monkeypatch.setattr(pair_score, "_step", lambda compile: step if compile else pair_score.pair_step)
    model, cond, inputs, targets, reference = _grid("lrcn2f")
    with pytest.warns(UserWarning, match="torch.compile failed on pair_step .RuntimeError.; scoring eagerly"):
        got = pair_logprob(model, cond, inputs, targets, PAD, precision="fp32", compile=True)
    assert step.failed
    torch.testing.assert_close(got, reference, atol=1e-4, rtol=1e-5)


def test_the_default_precision_is_the_policys_auto():
    model, cond, inputs, targets, _ = _grid("lrcn2f")
    auto = choose_precision("auto", torch.device("cpu"), "score").value
    default = pair_logprob(model, cond, inputs, targets, PAD, compile=False)
    torch.testing.assert_close(default, pair_logprob(model, cond, inputs, targets, PAD, precision=auto, compile=False),
                               atol=0, rtol=0)
