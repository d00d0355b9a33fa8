"""U2PL's official-run switches (docs/methods/u2pl.md §13), each against the behaviour of the
official function (Haochen-Wang409/U2PL @ab3d2be) written out below in plain torch / Python."""

import random

import numpy as np
import pytest
import torch
from torch.nn import functional as F

from detectron2.data import transforms as T

from hardseg.data import build_sem_seg_train_aug
from hardseg.data.transforms import CenterPadToSize, SplitRandomScale
from hardseg.modeling.meta_arch import U2PLConfig
from hardseg.modeling.semisup.contrastive import class_maps, u2pl_contrastive_loss
from hardseg.modeling.semisup.memory_queue import ClassMemoryQueues
from hardseg.modeling.semisup.resize import resize_bilinear
from tests.common import tiny_cfg

IGNORE = 255


# --- the official functions, transcribed ----------------------------------------------------
def official_label_onehot(inputs, num_segments):
    """``label_onehot`` of u2pl/utils/utils.py: (B, H, W) -> (B, K, H, W) float."""
    batch_size, im_h, im_w = inputs.shape
    outputs = torch.zeros((num_segments, batch_size, im_h, im_w))
    inputs_temp = inputs.clone()
    inputs_temp[inputs == 255] = 0
    outputs.scatter_(0, inputs_temp.unsqueeze(1), 1.0)  # index (B, 1, H, W): image 0 only
    outputs[:, inputs == 255] = 0
    return outputs.permute(1, 0, 2, 3)


def official_contra_loss(rep, label_l, label_u, prob_l, prob_u, low_mask, high_mask, cfg, bank,
                         rep_teacher):  # fmt: skip
    """``compute_contra_memobank_loss`` of u2pl/utils/loss_helper.py (no anchor EMA), one
    process: the queues are lists ``bank[c] = [tensor (n, D)]``, appended and truncated as
    ``dequeue_and_enqueue`` does without the gather."""
    low_rank, high_rank = cfg["low_rank"], cfg["high_rank"]
    num_queries, num_negatives = cfg["num_queries"], cfg["num_negatives"]
    num_feat, num_segments = rep.shape[1], label_l.shape[1]
    low_valid_pixel = torch.cat((label_l, label_u), dim=0) * low_mask
    high_valid_pixel = torch.cat((label_l, label_u), dim=0) * high_mask
    rep = rep.permute(0, 2, 3, 1)
    rep_teacher = rep_teacher.permute(0, 2, 3, 1)
    feat_low_list, seg_num_list, proto_list, valid_classes = [], [], [], []
    _, idx_l = torch.sort(prob_l, 1, True)
    idx_l = idx_l.permute(0, 2, 3, 1)
    _, idx_u = torch.sort(prob_u, 1, True)
    idx_u = idx_u.permute(0, 2, 3, 1)
    prob = torch.cat((prob_l, prob_u), dim=0)
    for i in range(num_segments):
        low_seg, high_seg = low_valid_pixel[:, i], high_valid_pixel[:, i]
        prob_seg = prob[:, i]
        mask_low = (prob_seg > cfg["current_class_threshold"]) * low_seg.bool()
        mask_high = (prob_seg < cfg["current_class_negative_threshold"]) * high_seg.bool()
        feat_low_list.append(rep[mask_low])
        proto_list.append(torch.mean(rep_teacher[low_seg.bool()], dim=0, keepdim=True))
        class_mask_u = torch.sum(idx_u[:, :, :, low_rank:high_rank].eq(i), dim=3).bool()
        class_mask_l = torch.sum(idx_l[:, :, :, :low_rank].eq(i), dim=3).bool()
        class_mask = torch.cat((class_mask_l * (label_l[:, i] == 0), class_mask_u), dim=0)
        keys = rep_teacher[mask_high * class_mask]
        bank[i][0] = torch.cat((bank[i][0], keys), dim=0)[-cfg["queue_size"] :]
        if low_seg.sum() > 0:
            seg_num_list.append(int(low_seg.sum().item()))
            valid_classes.append(i)
    if len(seg_num_list) <= 1:
        return torch.tensor(0.0) * rep.sum()
    loss = torch.tensor(0.0)
    seg_proto = torch.cat(proto_list)
    for i in range(len(seg_num_list)):
        if len(feat_low_list[i]) > 0 and bank[valid_classes[i]][0].shape[0] > 0:
            anchor = feat_low_list[i][torch.randint(len(feat_low_list[i]), size=(num_queries,))]
        else:
            loss = loss + 0 * rep.sum()
            continue
        with torch.no_grad():
            neg = bank[valid_classes[i]][0].clone()
            neg = neg[torch.randint(len(neg), size=(num_queries * num_negatives,))]
            neg = neg.reshape(num_queries, num_negatives, num_feat)
            pos = seg_proto[i].unsqueeze(0).unsqueeze(0).repeat(num_queries, 1, 1)
            all_feat = torch.cat((pos, neg), dim=1)
        logits = torch.cosine_similarity(anchor.unsqueeze(1), all_feat, dim=2)
        loss = loss + F.cross_entropy(logits / cfg["temperature"], torch.zeros(num_queries).long())
    return loss / len(seg_num_list)


# --- label_onehot ---------------------------------------------------------------------------
def _labels(n, h, w, k, seed, present=None):
    g = torch.Generator().manual_seed(seed)
    classes = torch.tensor(present if present is not None else list(range(k)))
    lab = classes[torch.randint(len(classes), (n, h, w), generator=g)]
    lab[torch.rand(n, h, w, generator=g) < 0.2] = IGNORE
    return lab


def test_official_onehot_matches_label_onehot_on_each_half():
    k, n_l = 5, 3
    labels = _labels(5, 6, 7, k, seed=0)
    got = class_maps(labels, k, n_l, "official")
    expected = torch.cat(
        [official_label_onehot(labels[:n_l], k), official_label_onehot(labels[n_l:], k)]
    ).bool()
    assert torch.equal(got, expected)
    # every image of a half lands in its first image; the others have no class at all
    assert not got[1:n_l].any() and not got[n_l + 1 :].any()
    # union: a pixel of image 0 that is valid holds image 1's class there as well
    y, x = torch.nonzero((labels[0] != IGNORE) & (labels[1] != IGNORE) & (labels[0] != labels[1]))[
        0
    ]
    assert got[0, labels[1, y, x], y, x] and got[0, labels[0, y, x], y, x]


def test_per_image_onehot_is_each_images_labels():
    k = 5
    labels = _labels(4, 6, 7, k, seed=1)
    got = class_maps(labels, k, 2, "per_image")
    expected = F.one_hot(labels.clamp(max=k - 1), k).permute(0, 3, 1, 2).bool()
    expected &= (labels != IGNORE)[:, None]
    assert torch.equal(got, expected)
    with pytest.raises(ValueError, match="LABEL_ONEHOT"):
        class_maps(labels, k, 2, "union")


# --- the contrastive loss against compute_contra_memobank_loss ------------------------------
CFG = dict(current_class_threshold=0.3, current_class_negative_threshold=1.0, low_rank=1,
           high_rank=4, temperature=0.5, num_queries=8, num_negatives=4, queue_size=1000)  # fmt: skip


def _inputs(present, seed):
    """2 labeled + 2 unlabeled rows at 6x6, K = 6, D = 4; only ``present`` classes in the
    labels; teacher probabilities random; low/high masks random within the valid pixels."""
    k, d, n_l = 6, 4, 2
    g = torch.Generator().manual_seed(seed)
    labels = _labels(4, 6, 6, k, seed, present)
    prob = F.softmax(3 * torch.randn(4, k, 6, 6, generator=g), dim=1)
    embed = torch.randn(4, d, 6, 6, generator=g)
    embed_t = torch.randn(4, d, 6, 6, generator=g)
    valid = labels != IGNORE
    low = valid.clone()
    high = valid.clone()
    low[n_l:] &= torch.rand(2, 6, 6, generator=g) < 0.6
    high[n_l:] &= torch.rand(2, 6, 6, generator=g) < 0.6
    return k, n_l, labels, prob, embed, embed_t, low, high


def _both(present, seed, label_onehot, class_index, official_onehot):
    k, n_l, labels, prob, embed, embed_t, low, high = _inputs(present, seed)
    queues = ClassMemoryQueues(k, embed.shape[1], [CFG["queue_size"]] * k)
    torch.manual_seed(123)
    ours = u2pl_contrastive_loss(
        embed, embed_t, prob, labels, low, high, queues, n_l,
        low_rank=CFG["low_rank"], high_rank=CFG["high_rank"], num_queries=CFG["num_queries"],
        num_negatives=CFG["num_negatives"], temperature=CFG["temperature"],
        label_onehot=label_onehot, class_index=class_index, gather=False,
    )  # fmt: skip
    onehot = official_onehot(labels, k, n_l).float()
    bank = [[torch.zeros(0, embed.shape[1])] for _ in range(k)]
    torch.manual_seed(123)
    official = official_contra_loss(
        embed, onehot[:n_l], onehot[n_l:], prob[:n_l], prob[n_l:], low[:, None].float(),
        high[:, None].float(), CFG, bank, embed_t,
    )  # fmt: skip
    return ours, official


def _official_onehot(labels, k, n_l):
    return torch.cat(
        [official_label_onehot(labels[:n_l], k), official_label_onehot(labels[n_l:], k)]
    )


def _per_image_onehot(labels, k, n_l):
    return class_maps(labels, k, n_l, "per_image")


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_official_switches_reproduce_compute_contra_memobank_loss(seed):
    """Classes 1, 3, 4 only: the issue #111 pairing matters (class id i != valid_classes[i])."""
    ours, official = _both([1, 3, 4], seed, "official", "official", _official_onehot)
    assert ours.num_valid_classes >= 2 and ours.num_terms >= 1
    assert float(ours.loss) == pytest.approx(float(official), rel=1e-5, abs=1e-6)


@pytest.mark.parametrize("seed", [0, 1])
def test_class_index_alone_against_the_official_loop(seed):
    """Per-image class maps fed to the official loop = our per_image + official pairing; our
    per_class pairing gives a different loss when classes are missing."""
    ours, official = _both([0, 2, 3, 5], seed, "per_image", "official", _per_image_onehot)
    assert float(ours.loss) == pytest.approx(float(official), rel=1e-5, abs=1e-6)
    fixed, _ = _both([0, 2, 3, 5], seed, "per_image", "per_class", _per_image_onehot)
    assert float(fixed.loss) != pytest.approx(float(official), rel=1e-3)


def test_pairings_agree_when_every_class_is_valid():
    a, official = _both(None, 5, "per_image", "official", _per_image_onehot)
    b, _ = _both(None, 5, "per_image", "per_class", _per_image_onehot)
    assert a.num_valid_classes == 6
    assert float(a.loss) == pytest.approx(float(b.loss), rel=1e-6)
    assert float(a.loss) == pytest.approx(float(official), rel=1e-5)


# --- keys, resize ---------------------------------------------------------------------------
def test_keys_default_to_the_official_behaviour_and_reach_the_dataclass():
    cfg = tiny_cfg(config="hardshapes/u2pl_deeplabv3plus_R18_instant_test_1-16.yaml")
    c = U2PLConfig.from_config(cfg)
    assert (c.label_onehot, c.class_index, c.align_corners) == ("official", "official", True)
    assert c.contrast_kwargs["label_onehot"] == "official"
    assert c.contrast_kwargs["class_index"] == "official"
    cfg = tiny_cfg(
        "MODEL.SEMISUP.U2PL.LABEL_ONEHOT", "per_image", "MODEL.SEMISUP.U2PL.CLASS_INDEX",
        "per_class", "MODEL.SEMISUP.ALIGN_CORNERS", False,
        config="hardshapes/u2pl_deeplabv3plus_R18_instant_test_1-16.yaml",
    )  # fmt: skip
    c = U2PLConfig.from_config(cfg)
    assert (c.label_onehot, c.class_index, c.align_corners) == ("per_image", "per_class", False)
    with pytest.raises(ValueError, match="CLASS_INDEX"):
        U2PLConfig(num_classes=3, epoch_iters=1, max_iter=2, class_index="class")


def test_align_corners_resize_by_hand():
    x = torch.tensor([[[[0.0, 3.0]]]])  # (1, 1, 1, 2)
    # align_corners=True: the end samples stay on the end pixels: 0, 1, 2, 3
    assert resize_bilinear(x, (1, 4), True).flatten().tolist() == [0.0, 1.0, 2.0, 3.0]
    # False: pixel centres, edge-clamped: 0, 0.75, 2.25, 3
    assert resize_bilinear(x, (1, 4), False).flatten().tolist() == [0.0, 0.75, 2.25, 3.0]


# --- the weak augmentation (u2pl/dataset/augmentation.py) -----------------------------------
def official_rand_resize_size(h, w, scale):
    """``RandResize.__call__``'s output size (no aspect-ratio jitter)."""
    if random.random() < 0.5:
        s = scale[0] + (1.0 - scale[0]) * random.random()
    else:
        s = 1.0 + (scale[1] - 1.0) * random.random()
    return int(h * s), int(w * s)


def test_split_random_scale_draws_as_rand_resize():
    aug = SplitRandomScale((0.5, 2.0))
    image = np.zeros((375, 500, 3), np.uint8)
    shrunk = 0
    for seed in range(40):
        random.seed(seed)
        expected = official_rand_resize_size(375, 500, (0.5, 2.0))
        random.seed(seed)
        t = aug.get_transform(image)
        assert (t.new_h, t.new_w) == expected
        shrunk += expected[0] < 375
    assert 10 <= shrunk <= 30  # about half the draws shrink
    with pytest.raises(ValueError, match="RANDOM_SCALE"):
        SplitRandomScale((1.5, 2.0))


def official_crop_pad(image, label, crop_h, crop_w):
    """The padding part of ``Crop.__call__`` (image 0, label 0, centred)."""
    h, w = image.shape[-2:]
    pad_h, pad_w = max(crop_h - h, 0), max(crop_w - w, 0)
    border = (int(pad_w / 2), pad_w - int(pad_w / 2), int(pad_h / 2), pad_h - int(pad_h / 2))
    return F.pad(image, border, value=0.0), F.pad(label, border, value=0)


def test_center_pad_matches_the_official_crop_padding():
    rng = np.random.default_rng(0)
    image = rng.integers(1, 255, (3, 4, 3)).astype(np.uint8)
    label = rng.integers(1, 5, (3, 4)).astype(np.uint8)
    aug_in = T.AugInput(image, sem_seg=label)
    CenterPadToSize((8, 7), pad_value=0, label_pad_value=0)(aug_in)
    exp_img, exp_lab = official_crop_pad(
        torch.from_numpy(image).permute(2, 0, 1)[None].float(),
        torch.from_numpy(label)[None, None].float(),
        8,
        7,
    )
    assert aug_in.image.shape == (8, 7, 3) and aug_in.sem_seg.shape == (8, 7)
    assert np.array_equal(aug_in.image, exp_img[0].permute(1, 2, 0).numpy().astype(np.uint8))
    assert np.array_equal(aug_in.sem_seg, exp_lab[0, 0].numpy().astype(np.uint8))
    # by hand: 5 rows of padding -> 2 above, 3 below; 3 columns -> 1 left, 2 right
    assert np.array_equal(aug_in.sem_seg[2:5, 1:5], label)
    assert (aug_in.sem_seg[:2] == 0).all() and (aug_in.sem_seg[5:] == 0).all()


@pytest.mark.parametrize("base", ["voc", "cityscapes"])
def test_official_recipe_configs_use_the_official_weak_augmentation(base):
    name = "VOC" if base == "voc" else "Cityscapes"
    cfg = tiny_cfg(config=f"{base}/semi-supervised/Base-{name}-SemiSup.yaml")
    augs = build_sem_seg_train_aug(cfg)
    assert [type(a) for a in augs[:2]] == [SplitRandomScale, CenterPadToSize]
    assert augs[1].label_pad_value == 0 and augs[1].size == tuple(cfg.INPUT.CROP.SIZE)
    # the detectron2-recipe default keeps the shortest-edge resize and no crop padding
    augs = build_sem_seg_train_aug(tiny_cfg())
    assert isinstance(augs[0], T.ResizeShortestEdge)
    assert not any(isinstance(a, CenterPadToSize) for a in augs)
