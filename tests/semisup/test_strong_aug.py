"""CutMix / CutOut / ClassMix: box geometry, and images, labels and confidences mixed alike."""

import pytest
import torch

from hardseg.modeling.semisup.strong_aug import (
    box_mask,
    class_mix_mask,
    cutmix_box,
    mix_unlabeled_batch,
)


def test_cutmix_box_geometry():
    g = torch.Generator().manual_seed(0)
    for h, w in [(64, 64), (33, 47), (128, 96)]:
        for _ in range(200):
            y0, y1, x0, x1 = cutmix_box(h, w, 2.0, g)
            bw, bh = x1 - x0, y1 - y0
            # official: w ~ U{floor(W/2)+1 .. W-1}, h = round(H*W/2 / w), inside the image
            assert w // 2 + 1 <= bw <= w - 1
            assert bh == min(round(h * w / 2 / bw), h)
            assert 0 <= x0 and x1 <= w and 0 <= y0 and y1 <= h
            assert abs(bw * bh - h * w / 2) <= bw  # half the area, up to rounding of h


def _batch(b=3, h=8, w=10):
    # sample i: image value i, label i, confidence i / 10
    images = torch.arange(b, dtype=torch.float32).view(b, 1, 1, 1).expand(b, 3, h, w).clone()
    labels = torch.arange(b).view(b, 1, 1).expand(b, h, w).clone()
    conf = labels.float() / 10
    return images, labels, conf


def test_cutmix_mixes_images_labels_and_confidence_with_the_next_sample():
    images, labels, conf = _batch()
    out_i, out_l, out_c = mix_unlabeled_batch(
        images, labels, conf, "cutmix", generator=torch.Generator().manual_seed(3)
    )
    # boxes are drawn for samples 0, 1, 2 in order from the generator
    g = torch.Generator().manual_seed(3)
    boxes = [cutmix_box(8, 10, 2.0, g) for _ in range(3)]
    for i in range(3):
        partner = (i + 1) % 3
        inside = ~box_mask(8, 10, boxes[i])
        expected_label = torch.where(inside, partner, i)
        assert torch.equal(out_l[i], expected_label)
        assert torch.equal(out_i[i], expected_label.float().expand(3, -1, -1))
        assert torch.equal(out_c[i], expected_label.float() / 10)
    assert not torch.equal(out_l, labels)  # inputs are not modified in place either
    assert torch.equal(labels[1], torch.ones_like(labels[1]))


def test_cutout_zeroes_the_box_and_ignores_its_labels():
    images, labels, conf = _batch()
    images = images + 1  # nonzero everywhere
    out_i, out_l, out_c = mix_unlabeled_batch(
        images, labels, conf, "cutout", generator=torch.Generator().manual_seed(0)
    )
    for i in range(3):
        cut = out_l[i] == 255
        assert 0 < int(cut.sum()) < cut.numel()
        assert (out_i[i][:, cut] == 0).all() and (out_i[i][:, ~cut] == i + 1).all()
        assert (out_c[i][cut] == 0).all()


def test_classmix_keeps_half_of_the_classes():
    label = torch.tensor([[0, 1, 2, 3], [3, 2, 1, 0]])
    g = torch.Generator().manual_seed(0)
    keep = class_mix_mask(label, generator=g)
    kept = label[keep].unique().tolist()
    assert len(kept) == 2  # floor(4 / 2) of the 4 classes present, all of their pixels
    assert torch.equal(keep, (label.unsqueeze(-1) == torch.tensor(kept)).any(-1))
    images = torch.stack([torch.zeros(3, 2, 4), torch.ones(3, 2, 4)])
    labels = torch.stack([label, torch.full_like(label, 5)])
    out_i, out_l, _ = mix_unlabeled_batch(
        images, labels, None, "classmix", generator=torch.Generator().manual_seed(0)
    )
    k0 = class_mix_mask(label, generator=torch.Generator().manual_seed(0))
    assert torch.equal(out_l[0], torch.where(k0, label, torch.full_like(label, 5)))
    assert torch.equal(out_i[0, 0], (~k0).float())


def test_none_and_unknown_modes():
    images, labels, conf = _batch()
    assert mix_unlabeled_batch(images, labels, conf, "none")[1] is labels
    with pytest.raises(ValueError, match="MODEL.SEMISUP.MIX"):
        mix_unlabeled_batch(images, labels, conf, "mixup")
