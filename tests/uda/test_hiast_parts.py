"""HIAST's pure parts against values worked out by hand (docs/methods/hiast.md §4-§7)."""

import math
import unittest

import numpy as np
import torch

from hardseg.data.hpla import (
    HPLASampler,
    class_weights,
    donor_pool,
    hard_classes,
    paste_hard_pixels,
)
from hardseg.modeling.uda import (
    IASThresholds,
    consistency_loss,
    entropy_loss,
    kld_to_uniform,
    pseudo_label_ce,
)
from hardseg.solver.cosine_schedule import SharedFloorCosineLR, cosine_lr

# Confidences exactly representable in float16, so the float16 rounding of the official code
# does not enter the hand computation.
Q0 = 1.0 - 0.5 * 0.9**8  # quantile level at theta = 0.9 (alpha 0.5, gamma 8) = 0.78476...


class TestIAS(unittest.TestCase):
    def test_threshold_sequence_labels_and_stats(self):
        ias = IASThresholds(2)  # theta0 0.9, alpha 0.5, beta 0.9, gamma 8, clip 0.999
        conf = np.array([[[0.9375, 0.75, 0.5, 0.875]]])
        pred = np.array([[[0, 0, 1, 1]]])
        labels = ias.label(conf, pred, names=["a"])
        # class 0: values {0.9 (seeded), 0.9375, 0.75} sorted 0.75, 0.9, 0.9375; position
        # Q0 * 2 = 1.5695 -> 0.9 + 0.5695 * 0.0375
        pos = Q0 * 2
        psi0 = 0.9 + (pos - 1) * (0.9375 - 0.9)
        # class 1: values {0.9, 0.5, 0.875} sorted 0.5, 0.875, 0.9
        psi1 = 0.875 + (pos - 1) * (0.9 - 0.875)
        theta = np.array([0.81 + 0.1 * psi0, 0.81 + 0.1 * psi1])  # 0.90214, 0.89892
        np.testing.assert_allclose(ias.theta, theta, rtol=1e-6)
        # labelled with the updated thresholds: only 0.9375 >= 0.90214 survives
        np.testing.assert_array_equal(labels, [[[0, 255, 255, 255]]])
        self.assertEqual(len(labels), 1)
        self.assertEqual(labels[0].dtype, np.uint8)
        np.testing.assert_array_equal(ias.pixel_counts, [1, 0])
        np.testing.assert_allclose(ias.class_mean_probs, [0.9375, 0.0])
        self.assertEqual(ias.samples_with_class, {0: [("a", 1)], 1: []})

        # batch 2: class 1 absent keeps its theta; class 0 all at 1.0 -> psi 1.0
        conf2 = np.ones((1, 1, 4))
        pred2 = np.zeros((1, 1, 4), dtype=np.int64)
        labels2 = ias.label(conf2, pred2, names=["b"])
        theta2 = np.array([0.9 * theta[0] + 0.1 * 1.0, theta[1]])
        np.testing.assert_allclose(ias.theta, theta2, rtol=1e-6)
        np.testing.assert_array_equal(labels2, [[[0, 0, 0, 0]]])
        # mean confidence EMA 0.99 from the first batch that had kept pixels
        np.testing.assert_allclose(ias.class_mean_probs, [0.99 * 0.9375 + 0.01 * 1.0, 0.0])
        np.testing.assert_array_equal(ias.pixel_counts, [5, 0])
        self.assertEqual(ias.samples_with_class[0], [("a", 1), ("b", 4)])

    def test_clip_at_one(self):
        # beta 0 makes theta = psi; all confidences 1.0 -> psi 1.0 -> reset to 0.999
        ias = IASThresholds(1, beta=0.0)
        ias.update(np.ones((1, 2, 2)), np.zeros((1, 2, 2), dtype=np.int64))
        np.testing.assert_allclose(ias.theta, [0.999])


class TestHPLA(unittest.TestCase):
    def test_hard_classes_and_weights(self):
        v = np.array([0.9, 0.5, 0.7, 0.2])
        hard = hard_classes(v, 2, range(4))
        np.testing.assert_array_equal(hard, [1, 3])
        # (1 - 0.5)^2 = 0.25, (1 - 0.2)^2 = 0.64
        np.testing.assert_allclose(class_weights(v, hard), [0, 0.25 / 0.89, 0, 0.64 / 0.89])

    def test_excluded_class_gets_zero_weight(self):
        v = np.array([0.9, 0.5, 0.7, 0.2])
        samples = {c: [(f"img{c}", 10)] for c in range(4)}
        sampler = HPLASampler(v, samples, num_hard=2, excluded=[3])
        np.testing.assert_array_equal(sampler.hard, [1, 2])
        # (0.25, 0.09) / 0.34, class 3 weight 0, no NaN
        np.testing.assert_allclose(sampler.weights, [0, 0.25 / 0.34, 0.09 / 0.34, 0])
        rng = np.random.default_rng(0)
        drawn = {sampler.sample(rng) for _ in range(50)}
        self.assertEqual(drawn, {(1, "img1"), (2, "img2")})

    def test_donor_pool_drops_fewest_pixels(self):
        samples = [(f"i{n}", n) for n in (5, 1, 9, 3, 7, 2, 8, 4, 10, 6)]
        self.assertEqual(set(donor_pool(samples, 0.1)), {f"i{n}" for n in range(2, 11)})
        # round(1.5) = 2 dropped of 15; round(0.5) = 0 dropped of 5
        samples15 = [(f"i{n}", n) for n in range(15)]
        self.assertEqual(donor_pool(samples15, 0.1), [f"i{n}" for n in range(2, 15)])
        self.assertEqual(len(donor_pool(samples15[:5], 0.1)), 5)

    def test_paste_all_hard_pixels_same_position(self):
        image = np.zeros((2, 3, 3), dtype=np.uint8)
        label = np.array([[0, 0, 2], [2, 255, 0]], dtype=np.uint8)
        donor_image = np.arange(18, dtype=np.uint8).reshape(2, 3, 3) + 1
        donor_label = np.array([[1, 3, 0], [255, 2, 1]], dtype=np.uint8)
        new_image, new_label, pasted = paste_hard_pixels(
            image, label, donor_image, donor_label, np.array([1, 3])
        )
        np.testing.assert_array_equal(new_label, [[1, 3, 2], [2, 255, 1]])
        np.testing.assert_array_equal(pasted, [[1, 3, 255], [255, 255, 1]])
        expected = np.zeros_like(image)
        for y, x in [(0, 0), (0, 1), (1, 2)]:
            expected[y, x] = donor_image[y, x]
        np.testing.assert_array_equal(new_image, expected)
        np.testing.assert_array_equal(label, [[0, 0, 2], [2, 255, 0]])  # input untouched

    def test_paste_size_mismatch_is_an_error(self):
        with self.assertRaisesRegex(ValueError, "resize the donor"):
            paste_hard_pixels(
                np.zeros((2, 2, 3)), np.zeros((2, 2)), np.zeros((3, 2, 3)), np.zeros((3, 2)), [1]
            )


def _logits():
    # pixel a: logits (0, 0) -> p = (1/2, 1/2); pixel b: (log 3, 0) -> p = (3/4, 1/4)
    z = torch.tensor([0.0, math.log(3.0), 0.0, 0.0]).view(1, 2, 1, 2)
    return z.requires_grad_(True)


class TestLosses(unittest.TestCase):
    def test_values(self):
        z = _logits()
        labels = torch.tensor([[[0, 255]]])
        conf, ign = labels != 255, labels == 255
        self.assertAlmostEqual(pseudo_label_ce(z, labels).item(), math.log(2), places=6)
        # sum_c -(1/2) log(1/2) over one pixel = log 2, divided by K * |region| = 2
        self.assertAlmostEqual(kld_to_uniform(z, conf).item(), math.log(2) / 2, places=6)
        ent = -(0.75 * math.log(0.75) + 0.25 * math.log(0.25))
        self.assertAlmostEqual(entropy_loss(z, ign).item(), ent / 2, places=6)
        # q = (1, 0) at b: one non-zero term -log(3/4)
        q = torch.tensor([0.5, 1.0, 0.5, 0.0]).view(1, 2, 1, 2)
        self.assertAlmostEqual(consistency_loss(z, q, ign).item(), -math.log(0.75), places=6)
        q2 = torch.full((1, 2, 1, 2), 0.5)
        expected = (-0.5 * math.log(0.75) - 0.5 * math.log(0.25)) / 2
        self.assertAlmostEqual(consistency_loss(z, q2, ign).item(), expected, places=6)

    def test_empty_regions_are_zero_with_a_graph(self):
        z = _logits()
        none = torch.zeros(1, 1, 2, dtype=torch.bool)
        q = torch.full((1, 2, 1, 2), 0.5)
        total = (
            pseudo_label_ce(z, torch.full((1, 1, 2), 255))
            + kld_to_uniform(z, none)
            + entropy_loss(z, none)
            + consistency_loss(z, q, none)
        )
        self.assertEqual(total.item(), 0.0)
        total.backward()
        self.assertEqual(z.grad.abs().sum().item(), 0.0)


class TestCosine(unittest.TestCase):
    def test_shared_floor(self):
        self.assertAlmostEqual(cosine_lr(1.0, 0, 10, 0.001), 1.0)
        self.assertAlmostEqual(cosine_lr(1.0, 5, 10, 0.001), 0.5005)
        self.assertAlmostEqual(cosine_lr(1.0, 10, 10, 0.001), 0.001)
        p = torch.nn.Parameter(torch.zeros(1))
        opt = torch.optim.Adam([{"params": [p], "lr": 1e-3}, {"params": [], "lr": 1e-2}])
        sched = SharedFloorCosineLR(opt, t_max=4, eta_min=1e-6)
        seen = []
        for _ in range(4):
            seen.append([g["lr"] for g in opt.param_groups])
            opt.step()
            sched.step()
        np.testing.assert_allclose(seen[2], [(1e-3 + 1e-6) / 2, (1e-2 + 1e-6) / 2])
        np.testing.assert_allclose([g["lr"] for g in opt.param_groups], [1e-6, 1e-6])
