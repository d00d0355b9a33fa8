"""Entropy partition, U2PL schedules and the reliable-pixel CE, against hand-computed values."""

import math

import numpy as np
import pytest
import torch

from hardseg.modeling.semisup.reliability import (
    anchor_candidates,
    ema_momentum,
    entropy_map,
    entropy_partition,
    percentile,
    reliable_pseudo_label_loss,
    u2pl_epoch,
    unreliable_percent,
)


def test_percentile_matches_numpy_linear_interpolation():
    g = torch.Generator().manual_seed(0)
    x = torch.rand(1001, generator=g)
    for q in (0, 0.25, 20, 50, 80, 99.75, 100):
        assert float(percentile(x, q)) == pytest.approx(np.percentile(x.numpy(), q), abs=1e-6)
    # 0..9: the 20th percentile sits at position 1.8, the 80th at 7.2
    v = torch.arange(10.0)
    assert float(percentile(v, 20)) == pytest.approx(1.8)
    assert float(percentile(v, 80)) == pytest.approx(7.2)
    assert math.isinf(float(percentile(torch.zeros(0), 50)))


def test_entropy_map_uniform_and_one_hot():
    k = 4
    uniform = torch.full((1, k, 2, 3), 1.0 / k)
    torch.testing.assert_close(entropy_map(uniform), torch.full((1, 2, 3), math.log(k)))
    one_hot = torch.zeros(1, k, 2, 3)
    one_hot[:, 2] = 1.0
    assert entropy_map(one_hot).abs().max() < 1e-8
    # two classes at (0.25, 0.75): -(0.25 ln 0.25 + 0.75 ln 0.75)
    p = torch.tensor([0.25, 0.75]).view(1, 2, 1, 1)
    expected = -(0.25 * math.log(0.25) + 0.75 * math.log(0.75))
    assert float(entropy_map(p)) == pytest.approx(expected, abs=1e-6)


def test_entropy_partition_by_hand():
    entropy = torch.arange(10.0).view(1, 2, 5)
    valid = torch.ones(1, 2, 5, dtype=torch.bool)
    part = entropy_partition(entropy, valid, alpha=20.0)
    # thresholds 1.8 and 7.2: low = {0, 1}, high = {8, 9}, reliable = {0..7}
    assert part.low.flatten().nonzero().flatten().tolist() == [0, 1]
    assert part.high.flatten().nonzero().flatten().tolist() == [8, 9]
    assert part.reliable.flatten().nonzero().flatten().tolist() == list(range(8))
    # pixel 9 invalid: percentiles over 0..8 -> 1.6 and 6.4; pixel 9 is in no set
    valid.view(-1)[9] = False
    part = entropy_partition(entropy, valid, alpha=20.0)
    assert float(part.low_thresh) == pytest.approx(1.6)
    assert float(part.high_thresh) == pytest.approx(6.4)
    assert part.low.flatten().nonzero().flatten().tolist() == [0, 1]
    assert part.high.flatten().nonzero().flatten().tolist() == [7, 8]
    assert part.reliable.flatten().nonzero().flatten().tolist() == list(range(7))


def test_anchor_candidates_rules():
    entropy = torch.arange(10.0).view(1, 2, 5)
    part = entropy_partition(entropy, torch.ones(1, 2, 5, dtype=torch.bool), alpha=20.0)
    assert torch.equal(anchor_candidates(part), part.low)  # official: lowest 20 %
    assert torch.equal(anchor_candidates(part, "reliable"), part.reliable)  # all but the top 20 %
    with pytest.raises(ValueError, match="ANCHOR_RULE"):
        anchor_candidates(part, "all")


def test_drop_percent_schedule():
    # alpha_t = 20 * (1 - e / E), constant within an epoch (VOC: E = 80)
    assert unreliable_percent(0, 80) == 20.0
    assert unreliable_percent(40, 80) == pytest.approx(10.0)
    assert unreliable_percent(79, 80) == pytest.approx(0.25)
    # iteration -> epoch: floor(iter / iters_per_epoch)
    assert [u2pl_epoch(i, 655) for i in (0, 654, 655, 52399)] == [0, 0, 1, 79]
    with pytest.raises(ValueError, match="EPOCH_ITERS"):
        u2pl_epoch(3, 0)


def test_ema_momentum_schedule():
    # m = min(1 - 1/(k + 1), 0.99), k = iter - start
    assert ema_momentum(655, 655) == 0.0
    assert ema_momentum(656, 655) == pytest.approx(0.5)
    assert ema_momentum(655 + 50, 655) == pytest.approx(1 - 1 / 51)
    assert ema_momentum(655 + 99, 655) == pytest.approx(0.99)
    assert ema_momentum(655 + 1000, 655) == 0.99
    with pytest.raises(ValueError):
        ema_momentum(3, 5)


def test_reliable_pseudo_label_loss_by_hand():
    # 1 image, 2 classes, 2x2 pixels; pixels 0 and 3 are kept
    logits = torch.tensor([[2.0, 0.0, 5.0, 0.0], [0.0, 1.0, 0.0, 1.0]]).view(1, 2, 2, 2)
    labels = torch.tensor([0, 1, 1, 1]).view(1, 2, 2)
    reliable = torch.tensor([True, False, False, True]).view(1, 2, 2)
    ce0 = math.log(1 + math.exp(-2.0))  # logits (2, 0), target 0
    ce3 = math.log(1 + math.exp(-1.0))  # logits (0, 1), target 1
    expected = (4 / 2) * (ce0 + ce3) / 2  # (N*H*W / N_kept) * mean CE over kept
    logits.requires_grad_(True)
    loss = reliable_pseudo_label_loss(logits, labels, reliable)
    assert float(loss.detach()) == pytest.approx(expected, rel=1e-6)
    loss.backward()
    # dropped pixels get no gradient
    assert logits.grad[0, :, 0, 1].abs().sum() == 0 and logits.grad[0, :, 1, 0].abs().sum() == 0
    none = reliable_pseudo_label_loss(logits, labels, torch.zeros_like(reliable))
    assert float(none.detach()) == 0.0 and none.requires_grad
