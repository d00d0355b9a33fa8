"""U2PL's contrastive loss on constructed embeddings; the two negative-selection rules."""

import math

import pytest
import torch

from hardseg.modeling.semisup.contrastive import info_nce, negative_mask, u2pl_contrastive_loss
from hardseg.modeling.semisup.memory_queue import ClassMemoryQueues


def _cos(a, b):
    return sum(x * y for x, y in zip(a, b)) / (math.hypot(*a) * math.hypot(*b))


def _nce(anchor, positive, negatives, t):
    """-log(exp(s+/t) / (exp(s+/t) + sum_j exp(s-_j/t))), written out with math."""
    pos = math.exp(_cos(anchor, positive) / t)
    neg = sum(math.exp(_cos(anchor, n) / t) for n in negatives)
    return -math.log(pos / (pos + neg))


def test_info_nce_by_hand():
    anchors = [(1.0, 0.0), (0.0, 2.0)]
    positive = (3.0, 0.0)
    negatives = [[(0.0, 1.0), (-1.0, 0.0)], [(1.0, 1.0), (0.0, -5.0)]]
    expected = sum(_nce(a, positive, n, 0.5) for a, n in zip(anchors, negatives)) / 2
    got = info_nce(torch.tensor(anchors), torch.tensor(positive), torch.tensor(negatives), 0.5)
    assert float(got) == pytest.approx(expected, rel=1e-6)
    # anchor 0 alone: cos 1 to the positive, 0 and -1 to the negatives
    assert _nce(anchors[0], positive, negatives[0], 0.5) == pytest.approx(
        -math.log(math.exp(2) / (math.exp(2) + 1 + math.exp(-2)))
    )


def _probs(orders, k):
    """(N, K, 1, P) probabilities whose descending order at each pixel is the given list."""
    n, p = len(orders), len(orders[0])
    prob = torch.zeros(n, k, 1, p)
    for i in range(n):
        for j in range(p):
            for rank, c in enumerate(orders[i][j]):
                prob[i, c, 0, j] = 0.5**rank
    return prob / prob.sum(1, keepdim=True)


def test_negative_rules_by_hand():
    # row 0 labeled (label 0 at both pixels), row 1 unlabeled (pseudo-label 2 at both pixels)
    k = 4
    orders = [[[1, 0, 2, 3], [0, 3, 1, 2]], [[0, 2, 1, 3], [2, 0, 1, 3]]]
    prob = _probs(orders, k)
    order = prob.argsort(dim=1, descending=True)
    labels = torch.tensor([[[0, 0]], [[2, 2]]])
    high = torch.tensor([[[True, True]], [[True, False]]])  # unlabeled pixel 1 is reliable
    kw = dict(low_rank=1, high_rank=3, negative_prob_thresh=1.0)

    def mask(c, rule):
        m = negative_mask(c, order, prob[:, c], labels == c, high, 1, rule=rule, **kw)
        return m.int().flatten().tolist()  # [labeled px0, px1, unlabeled px0, px1]

    # paper: labeled pixel with label != c and c ranked < 1 (c = 1 at px0);
    # unlabeled unreliable pixel with c ranked in [1, 3) (px0: classes 2 and 1)
    assert mask(1, "paper") == [1, 0, 1, 0]
    assert mask(2, "paper") == [0, 0, 1, 0]
    assert mask(3, "paper") == [0, 0, 0, 0]
    assert mask(0, "paper") == [0, 0, 0, 0]
    # official: also pseudo-labeled c, so labeled pixels never qualify; class 2 at unlabeled px0
    assert mask(1, "official") == [0, 0, 0, 0]
    assert mask(2, "official") == [0, 0, 1, 0]
    assert mask(0, "official") == [0, 0, 0, 0]
    # the P_c < delta_n test: with delta_n below P_2 at that pixel, no negative
    m = negative_mask(2, order, prob[:, 2], labels == 2, high, 1, 1, 3, 0.01, "official")
    assert not m.any()
    with pytest.raises(ValueError, match="NEGATIVE_RULE"):
        negative_mask(2, order, prob[:, 2], labels == 2, high, 1, rule="both")


def test_contrastive_loss_on_constructed_embeddings():
    """Two classes with one anchor pixel each and one key per queue, so sampling with
    replacement is deterministic; the expected value is computed with math."""
    k, d, t = 3, 2, 0.5
    # 1 labeled image, 1 unlabeled, 1 x 3 pixels at decoder resolution
    labels = torch.tensor([[[0, 1, 255]], [[0, 2, 1]]])
    prob = _probs([[[0, 1, 2], [1, 0, 2], [2, 1, 0]], [[0, 1, 2], [2, 0, 1], [1, 0, 2]]], k)
    s = [[(1.0, 0.0), (0.0, 1.0), (5.0, 5.0)], [(2.0, 1.0), (1.0, 1.0), (-1.0, 0.5)]]
    te = [[(1.0, 1.0), (-1.0, 2.0), (0.0, 1.0)], [(3.0, 0.0), (4.0, 4.0), (1.0, 2.0)]]
    embed = torch.tensor(s).permute(0, 2, 1).unsqueeze(2).requires_grad_(True)  # (2, D, 1, 3)
    embed_t = torch.tensor(te).permute(0, 2, 1).unsqueeze(2).requires_grad_(True)
    low = torch.tensor([[[True, True, False]], [[False, False, True]]])
    high = torch.zeros_like(low)  # no new negatives: the queues stay as pre-filled
    queues = ClassMemoryQueues(k, d, [4, 4, 4])
    neg = {0: (0.0, -1.0), 1: (1.0, -1.0)}
    for c, key in neg.items():
        queues.push(c, torch.tensor([key]), gather=False)

    out = u2pl_contrastive_loss(
        embed, embed_t, prob, labels, low, high, queues, 1,
        num_queries=5, num_negatives=3, temperature=t, anchor_prob_thresh=0.3,
    )  # fmt: skip
    # class 0: reliable pixels labeled 0 = labeled px0 only (unlabeled px0 is not in `low`);
    #   anchor s[0][0] (P_0 = 4/7 > 0.3), prototype te[0][0]
    # class 1: labeled px1 and unlabeled px2 (P_1 = 4/7 at both): two anchor candidates,
    #   prototype mean(te[0][1], te[1][2]) = (0, 2); 5 anchors drawn from them
    # class 2: no reliable pixel, so not a valid class
    assert out.num_valid_classes == 2 and out.num_terms == 2
    assert out.num_new_keys == [0, 0, 0]
    # replay the draws (anchors, then negatives, class by class) to know the anchors used
    out = _run_seeded(embed, embed_t, prob, labels, low, high, k, d, neg, t)
    g = torch.Generator().manual_seed(0)
    torch.randint(1, (5,), generator=g)  # class 0's anchor draw
    torch.randint(1, (15,), generator=g)  # class 0's negatives draw
    idx1 = torch.randint(2, (5,), generator=g).tolist()
    anchors1 = [[s[0][1], s[1][2]][i] for i in idx1]
    l0 = _nce(s[0][0], te[0][0], [neg[0]] * 3, t)
    proto1 = tuple((a + b) / 2 for a, b in zip(te[0][1], te[1][2]))
    l1 = sum(_nce(a, proto1, [neg[1]] * 3, t) for a in anchors1) / 5
    assert float(out.loss.detach()) == pytest.approx((l0 + l1) / 2, rel=1e-5)
    # gradient reaches the student embeddings only, and only at anchor pixels
    out.loss.backward()
    assert embed_t.grad is None
    g_px = embed.grad.abs().sum(1).flatten().tolist()
    assert g_px[0] > 0 and g_px[2] == 0 and g_px[3] == 0 and g_px[4] == 0
    assert (g_px[1] > 0) == (0 in idx1) and (g_px[5] > 0) == (1 in idx1)


def _run_seeded(embed, embed_t, prob, labels, low, high, k, d, neg, t):
    queues = ClassMemoryQueues(k, d, [4, 4, 4])
    for c, key in neg.items():
        queues.push(c, torch.tensor([key]), gather=False)
    return u2pl_contrastive_loss(
        embed, embed_t, prob, labels, low, high, queues, 1,
        num_queries=5, num_negatives=3, temperature=t,
        generator=torch.Generator().manual_seed(0),
    )  # fmt: skip


def test_new_keys_are_teacher_embeddings_pushed_before_sampling():
    k, d = 3, 2
    labels = torch.tensor([[[0, 1]], [[0, 0]]])
    prob = _probs([[[0, 1, 2], [1, 0, 2]], [[0, 1, 2], [1, 0, 2]]], k)
    embed = torch.randn(2, d, 1, 2, requires_grad=True)
    embed_t = torch.tensor([[[9.0, 8.0]], [[7.0, 6.0]]]).expand(2, d, 1, 2).clone()
    embed_t[1, :, 0, 1] = torch.tensor([3.0, 4.0])
    low = torch.tensor([[[True, True]], [[True, False]]])
    high = torch.tensor([[[True, True]], [[False, True]]])
    queues = ClassMemoryQueues(k, d, [4, 4, 4])
    out = u2pl_contrastive_loss(
        embed, embed_t, prob, labels, low, high, queues, 1,
        low_rank=1, high_rank=3, num_queries=4, num_negatives=2,
    )  # fmt: skip
    # official rule: unlabeled px1 (pseudo 0, unreliable, class 0 ranked 1 in [1, 3)) -> class 0
    assert out.num_new_keys == [1, 0, 0]
    assert torch.equal(queues.keys(0), torch.tensor([[3.0, 4.0]]))
    # class 0 has a queue entry now and anchors: it contributes; class 1 has an empty queue
    assert out.num_valid_classes == 2 and out.num_terms == 1 and float(out.loss.detach()) > 0
