"""PSPNetHead, FCNHead (auxiliary head), the ResNet V1c option and SIZE_DIVISIBILITY."""

import pytest
import torch
from torch.nn import functional as F

from detectron2.layers import ShapeSpec
from detectron2.modeling import build_model
from detectron2.utils.events import EventStorage

from hardseg.modeling import FCNHead, PSPNetHead
from hardseg.modeling.backbone import make_resnet_dilated
from tests.common import random_batch, tiny_cfg

PSP_HL = "quick_schedules/pspnet_R18_hl_instant_test.yaml"


def test_psp_head_layout_and_official_sizes():
    """docs/methods/hl.md §3.2: PPM 4 x (1x1 2048->512 + BN) ~ 4.2M, 3x3
    bottleneck 4096->512 ~ 18.9M."""
    head = PSPNetHead({"res5": ShapeSpec(channels=2048, stride=8)}, num_classes=19)
    assert head.pool_scales == (1, 2, 3, 6) and head.common_stride == 8
    ppm = sum(p.numel() for p in head.ppm.parameters())
    assert ppm == 4 * (2048 * 512 + 2 * 512)
    assert head.bottleneck.weight.shape == (512, 4096, 3, 3)
    assert head.predictor.weight.shape == (19, 512, 1, 1)
    assert torch.all(head.predictor.bias == 0) and 0.009 < head.predictor.weight.std() < 0.011


def test_psp_head_forward_matches_a_direct_computation():
    torch.manual_seed(0)
    head = PSPNetHead(
        {"res5": ShapeSpec(channels=8, stride=8)}, num_classes=3, channels=4, dropout=0.0
    ).eval()
    x = torch.randn(2, 8, 9, 11)
    # direct: pooled branches, resized back, concat, bottleneck, classifier
    branches = [x]
    for s, conv in zip((1, 2, 3, 6), head.ppm):
        y = conv(F.adaptive_avg_pool2d(x, s))
        branches.append(F.interpolate(y, size=(9, 11), mode="bilinear", align_corners=False))
    want = head.predictor(head.bottleneck(torch.cat(branches, 1)))
    logits = head.layers({"res5": x})
    torch.testing.assert_close(logits, want)
    out, losses = head({"res5": x})
    assert out.shape == (2, 3, 72, 88) and losses == {}


def test_fcn_head_variants():
    shape = {"res4": ShapeSpec(channels=8, stride=8)}
    aux = FCNHead(shape, num_classes=5, channels=4, num_convs=1, concat_input=False)
    assert len(aux.convs) == 1 and aux.conv_cat is None
    assert aux.layers({"res4": torch.randn(2, 8, 5, 5)}).shape == (2, 5, 5, 5)
    full = FCNHead(shape, num_classes=5, channels=4, num_convs=2, concat_input=True)
    assert full.conv_cat.weight.shape == (4, 12, 3, 3)
    with pytest.raises(ValueError, match="num_convs"):
        FCNHead(shape, num_classes=5, num_convs=0, concat_input=True)
    with pytest.raises(ValueError, match="OUT_FEATURES"):
        FCNHead(shape, num_classes=5, in_feature="res5")


def test_aux_loss_is_plain_weighted_ce_and_not_hl_weighted():
    torch.manual_seed(0)
    model = build_model(
        tiny_cfg("MODEL.AUX_HEAD.DROPOUT", 0.0, "MODEL.SEM_SEG_HEAD.DROPOUT", 0.0, config=PSP_HL)
    )
    model.train()
    batch = random_batch(n=2, h=32, w=48)
    with EventStorage():
        losses = model(batch)
    assert set(losses) == {"loss_sem_seg", "loss_hardness", "loss_aux"}
    images = torch.stack([(b["image"] - model.pixel_mean) / model.pixel_std for b in batch])
    targets = torch.stack([b["sem_seg"] for b in batch])
    logits = model.aux_head.layers(model.backbone(images))
    logits = F.interpolate(logits, scale_factor=8, mode="bilinear", align_corners=False)
    want = 0.4 * F.cross_entropy(logits, targets, ignore_index=255)  # mean over valid pixels
    torch.testing.assert_close(losses["loss_aux"], want, rtol=1e-5, atol=0)
    # eval: the aux head does not run and the output is the decode head's
    model.eval()
    model.aux_head.forward = None  # would raise TypeError if called
    with torch.no_grad():
        out = model(random_batch(n=1, h=32, w=48, with_labels=False))
    assert out[0]["sem_seg"].shape == (7, 32, 48)


def test_aux_head_refuses_a_loss_that_needs_distance_maps():
    with pytest.raises(
        ValueError, match=r"MODEL.AUX_HEAD.LOSS_TYPE='boundary' needs \['signed_dist'\]"
    ):
        build_model(tiny_cfg("MODEL.AUX_HEAD.LOSS_TYPE", "boundary", config=PSP_HL))


def _dilations(stage):
    return [block.conv2.dilation[0] for block in stage]


def test_v1c_option_matches_mmseg_resnet_v1c():
    net = make_resnet_dilated(
        depth=50,
        stem_type="deeplab",
        stem_out_channels=64,
        res2_out_channels=256,
        stride_in_1x1=False,
        res4_dilation=2,
        res5_dilation=4,
        res5_multi_grid=[1, 1, 1],
        contract_dilation=True,
        out_features=["res4", "res5"],
    )
    stem = net.stem
    assert [c.out_channels for c in (stem.conv1, stem.conv2, stem.conv3)] == [32, 32, 64]
    assert stem.conv1.stride == (2, 2) and stem.conv2.stride == (1, 1)
    # stride on the 3x3 conv ("pytorch" style), in res3 only (res4/res5 dilated)
    b = net.res3[0]
    assert b.conv1.stride == (1, 1) and b.conv2.stride == (2, 2)
    assert net.res4[0].conv2.stride == (1, 1) and net.res5[0].conv2.stride == (1, 1)
    # contract_dilation: first block of a dilated stage at half the dilation
    assert _dilations(net.res4) == [1, 2, 2, 2, 2, 2]
    assert _dilations(net.res5) == [2, 4, 4]
    assert {k: v.stride for k, v in net.output_shape().items()} == {"res4": 8, "res5": 8}
    out = net(torch.randn(1, 3, 65, 65))
    assert out["res5"].shape == (1, 2048, 9, 9)
    # without contraction every block uses the stage dilation (existing behaviour)
    plain = make_resnet_dilated(
        depth=50, res4_dilation=2, res5_dilation=4, out_features=["res5"], res2_out_channels=256
    )
    assert _dilations(plain.res4) == [2] * 6 and _dilations(plain.res5) == [4] * 3
    with pytest.raises(ValueError, match="CONTRACT_DILATION"):
        make_resnet_dilated(
            depth=50,
            res4_dilation=2,
            res5_dilation=4,
            res5_multi_grid=[1, 2, 4],
            contract_dilation=True,
            res2_out_channels=256,
        )


def test_size_divisibility_pads_odd_crops():
    """A 65x65 crop (like 769x769) trains with stride-8 logits: padded to 72x72 (ignored)."""
    model = build_model(tiny_cfg("MODEL.RESNETS.SIZE_DIVISIBILITY", 8, config=PSP_HL))
    assert model.backbone.size_divisibility == 8
    model.train()
    with EventStorage():
        losses = model(random_batch(n=2, h=65, w=65))
    assert all(torch.isfinite(v) for v in losses.values())
    model.eval()
    with torch.no_grad():
        out = model(random_batch(n=1, h=65, w=65, with_labels=False))
    assert out[0]["sem_seg"].shape == (7, 65, 65)
    # without padding, the stride-8 logits (9 cells) are resized to the 65x65 labels (as mmseg
    # resizes logits to the label size), no longer x8 to 72x72 and a size mismatch
    model = build_model(tiny_cfg(config=PSP_HL))
    model.train()
    with EventStorage():
        losses = model(random_batch(n=2, h=65, w=65))
    assert all(torch.isfinite(v) for v in losses.values())
