"""cac_loss against an independent, loop-by-loop implementation of docs/methods/cac.md §4.2
(float64; values and gradients w.r.t. the embeddings and the weight-branch logits)."""

import math

import pytest
import torch

from hardseg.modeling.losses.cac import cac_loss, cac_sample_counts

IGNORE = 255


def reference(emb, labels, seg, wlog, *, max_sample, threshold, tau=0.1, tau0=0.07, mean="all"):
    """Written from the method description, pixel by pixel, with Python lists."""
    N, D, h, w = emb.shape
    pixels = []  # (image, flat index)
    p = torch.softmax(seg.detach(), dim=1)
    valid = []
    for b in range(N):
        for c in sorted(set(labels[b].flatten().tolist()) - {IGNORE}):
            if (labels[b] == c).sum().item() > threshold:
                valid.append((b, c))
    if not valid:
        return None
    n = min(max_sample // len(valid), threshold)
    for b, c in valid:
        hard, easy = [], []
        for i in range(h * w):
            yy, xx = divmod(i, w)
            if labels[b, yy, xx].item() != c:
                continue
            conf = p[b, c, yy, xx].item()
            pred = int(p[b, :, yy, xx].argmax())
            (easy if pred == c else hard).append((conf, i))
        H, E = len(hard), len(easy)
        if H >= n / 2 and E >= n / 2:
            nh, ne = math.floor(n / 2), n - math.floor(n / 2)
        elif H >= n / 2:
            nh, ne = n - E, E
        elif E >= n / 2:
            nh, ne = H, n - H
        else:
            nh, ne = H, E
        hard.sort(key=lambda t: -t[0])
        easy.sort(key=lambda t: t[0])
        pixels += [(b, i) for _, i in hard[:nh]] + [(b, i) for _, i in easy[:ne]]
    A = len(pixels)
    f = [emb[b, :, i // w, i % w] / emb[b, :, i // w, i % w].norm() for b, i in pixels]
    q = [torch.softmax(wlog[b, :, i // w, i % w], dim=0) for b, i in pixels]
    y = [int(labels[b, i // w, i % w]) for b, i in pixels]
    per_anchor = []
    for i in range(A):
        s = [torch.dot(f[i], f[j]) / tau for j in range(A)]
        weight = [0.0 if j == i else 1 - 0.5 * (q[i][y[j]] + q[j][y[i]]) for j in range(A)]
        rmax = max(float(v) for v in s)
        denom = sum(weight[k] * torch.exp(s[k] - rmax) for k in range(A))
        pos = [j for j in range(A) if j != i and y[j] == y[i]]
        total = sum((weight[j] * (s[j] - rmax - torch.log(denom)) for j in pos), torch.zeros(()))
        per_anchor.append(-(tau / tau0) * total / max(len(pos), 1e-16))
    classes = range(max(y) + 1)
    means = []
    for c in classes:
        members = [per_anchor[i] for i in range(A) if y[i] == c]
        if members:
            means.append(sum(members) / len(members))
        elif mean == "all":
            means.append(torch.zeros(()))
    return sum(means) / len(means)


def make(N, K, h, w, label_fn, seed=0, D=5):
    g = torch.Generator().manual_seed(seed)
    emb = torch.randn(N, D, h, w, generator=g, dtype=torch.float64, requires_grad=True)
    seg = torch.randn(N, K, h, w, generator=g, dtype=torch.float64)
    wlog = torch.randn(N, K, h, w, generator=g, dtype=torch.float64, requires_grad=True)
    labels = label_fn(g)
    return emb, labels, seg, wlog


def check(emb, labels, seg, wlog, mean="all_slots", **kw):
    got = cac_loss(emb, labels, seg, wlog, class_mean=mean, **kw)
    g_emb, g_w = torch.autograd.grad(got, [emb, wlog])
    ref = reference(
        emb,
        labels,
        seg,
        wlog,
        max_sample=kw["max_sample"],
        threshold=kw["threshold"],
        mean="all" if mean == "all_slots" else "present",
    )
    r_emb, r_w = torch.autograd.grad(ref, [emb, wlog])
    torch.testing.assert_close(got, ref, rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(g_emb, r_emb, rtol=1e-8, atol=1e-12)
    torch.testing.assert_close(g_w, r_w, rtol=1e-8, atol=1e-12)
    return got


def test_count_rules():
    assert cac_sample_counts(10, 7, 9) == (5, 5)  # both >= n/2
    assert cac_sample_counts(9, 7, 9) == (4, 5)  # both, odd n: floor(n/2) hard
    assert cac_sample_counts(10, 8, 2) == (8, 2)  # only hard
    assert cac_sample_counts(10, 3, 12) == (3, 7)  # only easy
    assert cac_sample_counts(10, 2, 3) == (2, 3)  # neither (unreachable for a valid class)


def _labels_mixed(g):
    # image 0: class 3 (36 px), class 1 (20 px), class 0 exactly at threshold (8 px), ignore.
    y = torch.full((2, 8, 8), 3, dtype=torch.long)
    y[0, :2, :] = 0  # 16 px
    y[0, 2:4, :] = IGNORE
    y[0, 4, :] = 1
    y[0, 5, :4] = 1  # class 1: 12 px
    y[1, :, :3] = 4  # 24 px
    y[1, 0, 3:] = 0  # class 0: 5 px (<= threshold in image 1)
    y[1, 7, 3:] = IGNORE
    return y


@pytest.mark.parametrize("max_sample,threshold", [(64, 8), (40, 12), (6, 4), (30, 11)])
def test_matches_reference(max_sample, threshold):
    emb, labels, seg, wlog = make(2, 5, 8, 8, _labels_mixed)
    check(emb, labels, seg, wlog, max_sample=max_sample, threshold=threshold)


def _rule_labels(g):
    # One class per image, sized so that the main head's argmax gives every count rule.
    y = torch.zeros(3, 6, 6, dtype=torch.long)
    y[1] = 1
    y[2] = 2
    return y


@pytest.mark.parametrize("mean", ["all_slots", "present"])
def test_every_count_rule_and_absent_classes(mean):
    emb, labels, seg, wlog = make(3, 4, 6, 6, _rule_labels, seed=1)
    seg = seg.clone()
    seg[:, 3] -= 10.0  # class 3 never predicted
    # image 0 (class 0): ~half right -> rule 1; image 1 (class 1): 33 right -> only easy big
    # enough (rule 3); image 2 (class 2): 2 right -> only hard (rule 2).
    right = torch.zeros(3, 36, dtype=torch.bool)
    right[0, ::2] = True
    right[1, :33] = True
    right[2, :2] = True
    for b, c in enumerate([0, 1, 2]):
        flat = seg[b].reshape(4, -1)
        flat[c, right[b]] += 20.0
        flat[c, ~right[b]] -= 20.0
        flat[c, ~right[b]] += torch.linspace(0, 15, int((~right[b]).sum()), dtype=torch.float64)
    # budget n = min(30 // 3, 12) = 10; hard/easy: (18, 18) -> (5, 5); (3, 33) -> (3, 7); (34, 2).
    assert cac_sample_counts(10, 18, 18) == (5, 5)
    assert cac_sample_counts(10, 3, 33) == (3, 7)
    assert cac_sample_counts(10, 34, 2) == (8, 2)
    check(emb, labels, seg, wlog, mean=mean, max_sample=30, threshold=12)


def test_class_at_threshold_is_not_sampled_and_slots_count_zero():
    def labels_fn(g):
        y = torch.full((1, 6, 6), 2, dtype=torch.long)
        y[0, 0, :] = 5  # exactly threshold (6) pixels: not sampled, adds no slot
        return y

    emb, labels, seg, wlog = make(1, 6, 6, 6, labels_fn)
    full = check(emb, labels, seg, wlog, max_sample=64, threshold=6)
    present = cac_loss(emb, labels, seg, wlog, max_sample=64, threshold=6, class_mean="present")
    # Only class 2 is sampled: slots 0..2, two empty -> the all-slots loss is a third.
    torch.testing.assert_close(full * 3, present)


def test_no_valid_class_is_zero_with_graph():
    emb, labels, seg, wlog = make(2, 3, 4, 4, lambda g: torch.full((2, 4, 4), IGNORE))
    labels[0, 0, :] = 1
    loss = cac_loss(emb, labels, seg, wlog, threshold=100)
    assert loss.item() == 0 and loss.requires_grad
    g_emb, g_w = torch.autograd.grad(loss, [emb, wlog])
    assert g_emb.abs().sum() == 0 and g_w.abs().sum() == 0


def test_more_pairs_than_budget_takes_one_each():
    emb, labels, seg, wlog = make(3, 4, 4, 4, lambda g: torch.randint(0, 2, (3, 4, 4), generator=g))
    loss = cac_loss(emb, labels, seg, wlog, max_sample=2, threshold=1)  # 6 pairs > 2
    assert torch.isfinite(loss)


def test_random_subsets_without_sorting():
    emb, labels, seg, wlog = make(2, 5, 8, 8, _labels_mixed)
    torch.manual_seed(0)
    a = cac_loss(
        emb, labels, seg, wlog, max_sample=64, threshold=8, hard_sort=False, easy_sort=False
    )
    sorted_ = cac_loss(emb, labels, seg, wlog, max_sample=64, threshold=8)
    assert torch.isfinite(a) and not torch.isclose(a, sorted_)


def test_bad_inputs():
    emb, labels, seg, wlog = make(1, 3, 4, 4, lambda g: torch.zeros(1, 4, 4, dtype=torch.long))
    with pytest.raises(ValueError, match="class_mean"):
        cac_loss(emb, labels, seg, wlog, class_mean="mean")
    with pytest.raises(ValueError, match="nearest"):
        cac_loss(emb, labels[:, :2], seg, wlog)
