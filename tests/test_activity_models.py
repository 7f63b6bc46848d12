import pytest
import torch

from lrcn.models.activity import LRCN, ActivityModelConfig, ActivityNet, SingleFrame, create_head, running_scores, video_scores
from lrcn.models.backbones import create_backbone


@pytest.mark.parametrize("arch", ["lrcn", "single-frame"])
def test_heads_give_logits_at_every_step(arch):
    head = create_head(20, 7, ActivityModelConfig(arch=arch, fc6=16, hidden=8))
    logits, _ = head(torch.randn(3, 5, 20))
    assert logits.shape == (3, 5, 7)


def test_lrcn_state_carried_across_calls_equals_one_pass():
    head = LRCN(20, 4, ActivityModelConfig(fc6=16, hidden=8)).eval()
    x = torch.randn(2, 10, 20)
    whole, _ = head(x)
    first, state = head(x[:, :6])
    second, _ = head(x[:, 6:], state)
    torch.testing.assert_close(torch.cat([first, second], 1), whole)
    fresh, _ = head(x[:, 6:])
    assert not torch.allclose(fresh, second)  # the state really carries the past


def test_single_frame_looks_at_each_frame_alone():
    head = SingleFrame(20, 4, ActivityModelConfig(fc6=16)).eval()
    x = torch.randn(1, 6, 20)
    perm = torch.randperm(6)
    torch.testing.assert_close(head(x[:, perm])[0], head(x)[0][:, perm])


def test_video_scores_average_the_per_step_softmax_not_the_logits():
    logits = torch.tensor([[[10.0, 0.0], [0.0, 1.0]]])  # one clip, two steps
    p = video_scores(logits)
    step0 = torch.softmax(torch.tensor([10.0, 0.0]), 0)
    step1 = torch.softmax(torch.tensor([0.0, 1.0]), 0)
    torch.testing.assert_close(p, (step0 + step1) / 2)
    assert video_scores(torch.randn(3, 10, 16, 5)).shape == (5,)
    torch.testing.assert_close(video_scores(torch.randn(3, 10, 16, 5)).sum(), torch.tensor(1.0))


def test_end_to_end_model_trains_the_backbone_too():
    backbone = create_backbone("resnet18", pretrained=False, grid=1, frozen=False)
    model = ActivityNet(backbone.feature_dim, 3, ActivityModelConfig(pca=0, fc6=16, hidden=8), backbone)
    frames = torch.randint(0, 255, (2, 4, 3, 32, 32), dtype=torch.uint8)
    logits, state = model(frames)
    assert logits.shape == (2, 4, 3) and state[0].shape == (1, 2, 8)
    logits.sum().backward()
    assert backbone.net[0].weight.grad is not None


def test_whitening_gives_uncorrelated_unit_variance_components():
    from lrcn.models.pca import Whiten

    g = torch.Generator().manual_seed(0)
    frames = torch.randn(500, 6, generator=g) @ torch.randn(6, 40, generator=g) + 3.0  # rank 6, offset
    whiten = Whiten(40, 4)
    whiten.fit(frames)
    z = whiten(frames)
    torch.testing.assert_close(z.mean(0), torch.zeros(4), atol=1e-4, rtol=0)
    torch.testing.assert_close(torch.cov(z.T), torch.eye(4), atol=2e-2, rtol=0)
    few = Whiten(40, 8)
    few.fit(frames[:5])  # fewer frames than components
    assert few.proj[:, 5:].abs().sum() == 0


def test_the_running_prediction_carries_the_lstm_state_across_the_whole_video():
    torch.manual_seed(0)
    head = create_head(20, 4, ActivityModelConfig(pca=0, fc6=16, hidden=8)).eval()
    feats = torch.randn(40, 20)  # (T, D)
    running = running_scores(head, feats)
    assert running.shape == (40, 4)
    torch.testing.assert_close(running.sum(1), torch.ones(40))
    # frame t's answer has read frames 0..t: it equals the last step over the prefix, not a fresh clip's
    prefix, _ = head(feats[None, :25])
    torch.testing.assert_close(running[24], prefix[0, -1].softmax(-1))
    fresh, _ = head(feats[None, 16:25])
    assert not torch.allclose(running[24], fresh[0, -1].softmax(-1))
