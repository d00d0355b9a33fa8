"""MODEL.RESNETS.STEM_POOL_CEIL_MODE: the official U2PL deep stem's ceil-mode max-pool
(docs/methods/u2pl.md §13.4). Sizes pinned against hand-computed values, the extra row checked
by hand, and tiny SupOnly / U2PL models with the official decoder trained and evaluated where ceil
and floor differ (inference then resizes the logits to the input size)."""

import pytest
import torch
from torch.nn import functional as F

from detectron2.modeling import build_model
from detectron2.utils.events import EventStorage

from hardseg.modeling.backbone import make_resnet_dilated
from tests.common import random_batch, tiny_cfg

U2PL_CONFIG = "hardshapes/u2pl_deeplabv3plus_R18_instant_test_1-16.yaml"
SUPONLY_CONFIG = "hardshapes/suponly_deeplabv3plus_R18_instant_test_1-16.yaml"
# The official network at tiny width: U2PL's decoder, align_corners=True, the ceil-mode stem.
OFFICIAL_NET = (
    "MODEL.SEM_SEG_HEAD.NAME", "U2PLDeepLabV3PlusHead",
    "MODEL.SEM_SEG_HEAD.ALIGN_CORNERS", True,
    "MODEL.RESNETS.STEM_POOL_CEIL_MODE", True,
)  # fmt: skip

# H -> (floor-mode, ceil-mode) stem rows, by hand: the stride-2 conv (3x3, pad 1) gives
# c = ceil(H / 2); the 3x3 stride-2 pad-1 pool gives floor((c - 1) / 2) + 1 rows in floor mode and
# ceil((c - 1) / 2) + 1 in ceil mode (its last window starts inside the input), i.e. one more
# when c is even.
STEM_ROWS = {
    769: (193, 193),  # c = 385: the official Cityscapes crop
    513: (129, 129),  # c = 257: the official VOC crop
    772: (193, 194),  # c = 386: 769 padded to a multiple of 4
    516: (129, 130),  # c = 258
    1024: (256, 257),  # c = 512: a whole Cityscapes image
    2048: (512, 513),
    64: (16, 17),
    65: (17, 17),
    66: (17, 17),  # c = 33
}


def _backbone(ceil_mode, stem_type="deeplab", **kw):
    return make_resnet_dilated(
        depth=18, stem_type=stem_type, stem_out_channels=8, res2_out_channels=8,
        res4_dilation=2, res5_dilation=4, res5_multi_grid=[1, 2],
        out_features=["res2", "res3", "res4", "res5"], stem_pool_ceil_mode=ceil_mode, **kw,
    )  # fmt: skip


@pytest.mark.parametrize("stem_type", ["deeplab", "basic"])
def test_stem_sizes_by_hand(stem_type):
    with torch.device("meta"):
        floor_net, ceil_net = _backbone(False, stem_type), _backbone(True, stem_type)
        for h, (floor_rows, ceil_rows) in STEM_ROWS.items():
            x = torch.empty(1, 3, h, 64)
            assert floor_net.stem(x).shape[-2:] == (floor_rows, 16), h
            assert ceil_net.stem(x).shape[-2:] == (ceil_rows, 17), h
    assert not floor_net.stem_pool_ceil_mode and ceil_net.stem_pool_ceil_mode


def test_output_stride_8_maps_follow_the_stem():
    """res3 = ceil(res2 / 2) (3x3 stride-2 conv); res4 and res5 are dilated (same size)."""
    with torch.device("meta"):
        net = _backbone(True)
        out = net(torch.empty(1, 3, 772, 1024))
    assert {k: tuple(v.shape[-2:]) for k, v in out.items()} == {
        "res2": (194, 257),
        "res3": (97, 129),
        "res4": (97, 129),
        "res5": (97, 129),
    }
    assert {k: s.stride for k, s in net.output_shape().items()} == {
        "res2": 4, "res3": 8, "res4": 8, "res5": 8,
    }  # fmt: skip


def test_ceil_mode_adds_one_row_pooled_from_the_last_conv_row_only():
    torch.manual_seed(0)
    floor_net, ceil_net = _backbone(False), _backbone(True)
    ceil_net.load_state_dict(floor_net.state_dict())  # same parameters and keys
    x = torch.randn(1, 3, 64, 66)  # conv rows c = 32 (even), columns 33 (odd)
    with torch.no_grad():
        stem = floor_net.stem
        conv = F.relu(stem.conv3(F.relu(stem.conv2(F.relu(stem.conv1(x))))))
        floor_out, ceil_out = floor_net.stem(x), ceil_net.stem(x)
    assert conv.shape[-2:] == (32, 33)
    assert floor_out.shape[-2:] == (16, 17) and ceil_out.shape[-2:] == (17, 17)
    torch.testing.assert_close(ceil_out[..., :16, :], floor_out, rtol=0, atol=0)
    # the extra row's window covers conv rows 31..33, of which only row 31 exists; along the
    # columns the windows are 2j-1..2j+1 (the padding never wins)
    row = F.pad(conv[..., 31, :], (1, 1), value=float("-inf"))
    expected = torch.stack([row[..., 2 * j : 2 * j + 3].amax(-1) for j in range(17)], dim=-1)
    torch.testing.assert_close(ceil_out[..., 16, :], expected, rtol=0, atol=0)


def _check_inference_resizes(segmentor, h, w):
    """Eval output (K, h, w) equals the logits of the unpadded image resized bilinearly with
    align_corners=True to (h, w) (the official U2PL evaluation), not x4 and cropped."""
    x = random_batch(n=1, h=h, w=w, with_labels=False)
    with torch.no_grad():
        out = segmentor(x)[0]["sem_seg"]
        image = (x[0]["image"].float() - segmentor.pixel_mean) / segmentor.pixel_std
        head = segmentor.sem_seg_head
        logits = head.layers(segmentor.backbone(image[None]))
        assert logits.shape[-2:] == (((h + 1) // 2) // 2 + 1, ((w + 1) // 2) // 2 + 1)
        expected = F.interpolate(logits, size=(h, w), mode="bilinear", align_corners=True)[0]
    assert out.shape == expected.shape
    torch.testing.assert_close(out, expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("size_divisibility", [0, 4])
def test_suponly_trains_and_evaluates_where_ceil_differs(size_divisibility):
    cfg = tiny_cfg(
        *OFFICIAL_NET, "MODEL.RESNETS.SIZE_DIVISIBILITY", size_divisibility, config=SUPONLY_CONFIG
    )
    torch.manual_seed(0)
    model = build_model(cfg)
    assert model.backbone.stem_pool_ceil_mode and model.resizes_logits_to_input
    model.train()
    with EventStorage(0):
        losses = model(random_batch(n=2, h=62, w=64))  # padded to 64 with SIZE_DIVISIBILITY 4
    assert set(losses) == {"loss_sem_seg"} and torch.isfinite(losses["loss_sem_seg"])
    losses["loss_sem_seg"].backward()
    model.eval()
    _check_inference_resizes(model, 64, 90)  # 17 x 23 logits, ceil adds a row
    # sliding windows of 48 x 48 (13 x 13 logits, ceil adds a row and a column) cover the image
    model.inference_config = type(model.inference_config)(
        mode="slide", crop_size=(48, 48), stride=(32, 32)
    )
    with torch.no_grad():
        out = model(random_batch(n=1, h=64, w=90, with_labels=False))
    assert out[0]["sem_seg"].shape == (cfg.MODEL.SEM_SEG_HEAD.NUM_CLASSES, 64, 90)


def test_u2pl_trains_a_semi_step_and_evaluates_where_ceil_differs():
    cfg = tiny_cfg(
        *OFFICIAL_NET,
        "MODEL.SEMISUP.SUP_ONLY_EPOCHS", 0,
        "MODEL.SEMISUP.MIX_PROB", 1.0,
        # the Cityscapes recipe's supervised part: OHEM and an FCN aux head on res4 (stride 8)
        "MODEL.SEM_SEG_HEAD.LOSS_TYPE", "ohem_cross_entropy",
        "MODEL.AUX_HEAD.NAME", "FCNHead",
        "MODEL.AUX_HEAD.CHANNELS", 8,
        "MODEL.RESNETS.OUT_FEATURES", ["res2", "res4", "res5"],
        config=U2PL_CONFIG,
    )  # fmt: skip
    torch.manual_seed(0)
    model = build_model(cfg)
    model.train()
    batch = {
        "labeled": random_batch(n=2, h=64, w=64, seed=1),
        "unlabeled": random_batch(n=2, h=64, w=64, seed=2, with_labels=False),
    }
    with EventStorage(0):
        losses = model(batch)
    assert set(losses) == {"loss_sem_seg", "loss_aux", "loss_sem_seg_unsup", "loss_contrast"}
    assert all(torch.isfinite(v) for v in losses.values())
    sum(losses.values()).backward()
    model.eval()
    _check_inference_resizes(model.student.segmentor, 64, 90)
