"""Hungarian matching: the assignment equals brute force over permutations, and the matching
cost equals a hand-computed one."""

import itertools

import pytest
import torch
from torch.nn import functional as F

from hardseg.modeling.mask_former import HungarianMatcher, min_cost_assignment


def _brute_force(cost):
    q, t = cost.shape
    best, best_rows = None, None
    for rows in itertools.permutations(range(q), t):  # rows[j] = prediction of target j
        total = sum(cost[r, j].item() for j, r in enumerate(rows))
        if best is None or total < best:
            best, best_rows = total, rows
    return best, best_rows


@pytest.mark.parametrize("q,t", [(1, 1), (3, 2), (4, 4), (5, 3), (6, 2)])
def test_assignment_equals_brute_force(q, t):
    g = torch.Generator().manual_seed(q * 10 + t)
    for _ in range(5):
        cost = torch.randn(q, t, generator=g, dtype=torch.float64)
        rows, cols = min_cost_assignment(cost)
        best, best_rows = _brute_force(cost)
        assert len(rows) == len(cols) == t
        assert sorted(cols.tolist()) == list(range(t))  # every target matched once
        assert cost[rows, cols].sum().item() == pytest.approx(best, abs=1e-12)
        # continuous random costs: the optimum is unique
        assert {(int(r), int(c)) for r, c in zip(rows, cols)} == {
            (r, j) for j, r in enumerate(best_rows)
        }


def test_non_finite_cost_is_an_error():
    with pytest.raises(ValueError, match="NaN or inf"):
        min_cost_assignment(torch.tensor([[0.0, float("nan")]]))


def test_defaults_are_mask2formers():
    m = HungarianMatcher()
    assert (m.cost_class, m.cost_mask, m.cost_dice, m.num_points) == (2.0, 5.0, 5.0, 12544)


class _InteriorPointMatcher(HungarianMatcher):
    """Points away from the border (point_sample blends border points with zero padding)."""

    def sample_coords(self, device):
        return 0.2 + 0.6 * super().sample_coords(device)


def test_cost_and_matching_on_constant_masks():
    """With spatially constant mask logits and full/empty target masks, every (interior) sampled
    point sees the same values, so the point costs have closed forms."""
    torch.manual_seed(0)
    q, k, p = 4, 3, 50
    logits = torch.randn(q, k + 1)
    mask_values = torch.tensor([2.0, -1.0, 0.5, -3.0])
    pred_masks = mask_values[:, None, None].expand(q, 8, 8).clone()
    labels = torch.tensor([2, 0, 1])
    fill = torch.tensor([1.0, 0.0, 1.0])
    tgt_masks = fill[:, None, None].expand(3, 32, 32).bool()
    matcher = _InteriorPointMatcher(cost_class=2.0, cost_mask=5.0, cost_dice=5.0, num_points=p)
    cost = matcher.cost_matrix(logits, pred_masks, labels, tgt_masks)

    expected = torch.zeros(q, 3)
    for i in range(q):
        s = torch.sigmoid(mask_values[i])
        for j in range(3):
            prob = F.softmax(logits[i], -1)[labels[j]]
            bce = F.binary_cross_entropy_with_logits(mask_values[i], fill[j])
            dice = 1 - (2 * s * fill[j] * p + 1) / (s * p + fill[j] * p + 1)
            expected[i, j] = -2.0 * prob + 5.0 * bce + 5.0 * dice
    torch.testing.assert_close(cost, expected, rtol=1e-5, atol=1e-5)

    ((src, tgt),) = matcher(
        {"pred_logits": logits[None], "pred_masks": pred_masks[None]},
        [{"labels": labels, "masks": tgt_masks}],
    )
    best, best_rows = _brute_force(expected.double())
    assert expected[src, tgt].sum().item() == pytest.approx(best, rel=1e-5)


def test_image_without_targets():
    matcher = HungarianMatcher(num_points=10)
    out = {"pred_logits": torch.randn(1, 3, 5), "pred_masks": torch.randn(1, 3, 4, 4)}
    ((src, tgt),) = matcher(
        out,
        [
            {
                "labels": torch.zeros(0, dtype=torch.long),
                "masks": torch.zeros(0, 16, 16, dtype=torch.bool),
            }
        ],
    )
    assert len(src) == len(tgt) == 0
