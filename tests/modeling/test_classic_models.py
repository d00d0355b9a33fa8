"""The classic CNN architectures (docs/models.md): published parameter counts on the meta device,
one training step and odd-size inference at tiny width, HL and CAC wrapping, and torchvision key maps.
"""

import pytest
import torch
import torchvision
from torch.nn import functional as F

from detectron2.layers import ShapeSpec
from detectron2.utils.events import EventStorage

from hardseg.modeling.backbone import (
    IdentityBackbone,
    UNetEncoder,
    VGG16Backbone,
    make_resnet_dilated,
    make_resnet_hdc,
    resnet_from_torchvision,
    vgg16_from_torchvision,
)
from hardseg.modeling.heads import (
    DeepLabV3PerPixelHead,
    ConfidenceAwareContrastiveHead,
    DUCHead,
    ENetHead,
    FCNHead,
    FCNSkipHead,
    GCNHead,
    HardnessHead,
    SegNetHead,
    UNetHead,
    UPerNetHead,
)
from hardseg.modeling.heads.fcn_skip_head import bilinear_deconv
from hardseg.modeling.meta_arch import HardSegmentor
from tests.common import random_batch

IMAGE = {"image": ShapeSpec(channels=3, stride=1)}


def _count(*modules):
    return sum(p.numel() for m in modules for p in m.parameters())


def _r50(**kw):
    """ResNet-50 as torchvision's (stride on the 3x3 conv), output stride 8."""
    return make_resnet_dilated(depth=50, res2_out_channels=256, stride_in_1x1=False,
                               res4_dilation=2, res5_dilation=4, res5_multi_grid=[1, 1, 1],
                               out_features=["res2", "res3", "res4", "res5"], **kw)  # fmt: skip


def _conv(cin, cout, k=1, kw=None, bias=True, bn=False):
    """Parameters of a conv (k x kw), with bias, or followed by a BN (2 cout)."""
    return cin * cout * k * (kw or k) + (cout if bias else 0) + (2 * cout if bn else 0)


# ---- parameter counts (full size, meta device) -------------------------------------------------
def test_fcn8s_vgg16_has_134m_parameters():
    # Long et al. 2015, Table 1: FCN-VGG16 134M parameters.
    with torch.device("meta"):
        backbone = VGG16Backbone()
        head = FCNSkipHead(backbone.output_shape(), num_classes=21, output_stride=8)
    assert _count(backbone, head) == pytest.approx(134e6, rel=0.02)
    # VGG-16 without its 1000-class layer, convolutionalised (torchvision's own layout)
    with torch.device("meta"):
        tv = torchvision.models.vgg16()
    assert _count(backbone) == _count(tv) - _conv(4096, 1000)


def test_unet_has_31m_parameters():
    # milesial/Pytorch-UNet README: 31.0M parameters (transposed convs, 3 -> 2 classes);
    # the bilinear variant 17.3M.
    with torch.device("meta"):
        enc = UNetEncoder()
        head = UNetHead(enc.output_shape(), num_classes=2)
        enc_b = UNetEncoder(bilinear=True)
        head_b = UNetHead(enc_b.output_shape(), num_classes=2, bilinear=True)
    assert _count(enc, head) == pytest.approx(31.0e6, rel=0.02)
    assert _count(enc_b, head_b) == pytest.approx(17.3e6, rel=0.02)


def test_segnet_and_enet_parameter_counts():
    # SegNet: Badrinarayanan et al. 2017, Table 6 (29.5M, VGG16-BN encoder + mirrored decoder);
    # ENet: Paszke et al. 2016, Table 3 (0.37M).
    with torch.device("meta"):
        segnet = SegNetHead(IMAGE, num_classes=12)
        enet = ENetHead(IMAGE, num_classes=12)
    assert _count(segnet) == pytest.approx(29.4e6, rel=0.02)
    # the encoder is exactly torchvision's VGG-16-BN feature extractor
    with torch.device("meta"):
        assert _count(segnet.encoder) == _count(torchvision.models.vgg16_bn().features)
    assert _count(enet) == pytest.approx(0.37e6, rel=0.02)


def test_deeplabv3_matches_torchvision_deeplabv3_resnet50():
    # torchvision.models.segmentation.deeplabv3_resnet50 (aux on, 21 classes): 42,004,074
    # parameters (torchvision's model docs). Its image-pooling branch has a BN where detectron2's
    # ASPP has a bias: 256 fewer here.
    with torch.device("meta"):
        tv = torchvision.models.segmentation.deeplabv3_resnet50(
            weights=None, weights_backbone=None, num_classes=21, aux_loss=True
        )
        assert _count(tv) == 42_004_074
        backbone = _r50()
        shapes = backbone.output_shape()
        head = DeepLabV3PerPixelHead(shapes, num_classes=21, dilations=(12, 24, 36), num_convs=1)
        aux = FCNHead(shapes, num_classes=21, in_feature="res4", channels=256, concat_input=False)
    assert _count(backbone, head, aux) == 42_004_074 - 256


def test_upernet_r50_matches_mmseg_uper_head_layout():
    # mmseg uper_head.py (channels 512, pool scales 1,2,3,6, in_channels 256..2048, ConvModule =
    # conv without bias + BN) + fcn_head.py aux (1024 -> 256, 1 conv) on ResNet-50, 19 classes,
    # counted layer by layer here.
    c, k, ins = 512, 19, [256, 512, 1024, 2048]
    ppm = 4 * _conv(2048, c, bias=False, bn=True)
    bottleneck = _conv(2048 + 4 * c, c, 3, bias=False, bn=True)
    laterals = sum(_conv(i, c, bias=False, bn=True) for i in ins[:3])
    fpn = 3 * _conv(c, c, 3, bias=False, bn=True)
    fuse = _conv(4 * c, c, 3, bias=False, bn=True) + _conv(c, k)
    aux = _conv(1024, 256, 3, bias=False, bn=True) + _conv(256, k)
    with torch.device("meta"):
        resnet50 = _count(torchvision.models.resnet50()) - _conv(2048, 1000)
        expected = resnet50 + ppm + bottleneck + laterals + fpn + fuse + aux
        backbone = _r50()
        shapes = backbone.output_shape()
        head = UPerNetHead(shapes, num_classes=k)
        aux_head = FCNHead(
            shapes, num_classes=k, in_feature="res4", channels=256, concat_input=False
        )
    assert _count(backbone, head, aux_head) == expected
    assert expected == pytest.approx(66.4e6, rel=0.01)


def test_gcn_counts_the_papers_blocks():
    # Peng et al. 2017, Figure 2: per stage a GC block (k x 1 -> 1 x k plus 1 x k -> k x 1, to C
    # score maps) and a BR block (two 3x3 convs), 3 fusion BRs, 2 final BRs, 5 x2 deconvolutions,
    # here k = 15, C = 21, plus the 1x1 classifier; ResNet-50 as torchvision's.
    k, c = 15, 21
    gc = sum(2 * (_conv(i, c, k, 1) + _conv(c, c, 1, k)) for i in (256, 512, 1024, 2048))
    br = 2 * _conv(c, c, 3)
    deconv = c * c * 4 * 4
    expected = gc + 9 * br + 5 * deconv + _conv(c, c)
    with torch.device("meta"):
        head = GCNHead(_r50().output_shape(), num_classes=c)
    assert _count(head) == expected


def test_hdc_dilations_are_a_saw_tooth_and_duc_shuffles_to_full_size():
    backbone = make_resnet_hdc(depth=18, res2_out_channels=8, stem_out_channels=8,
                               out_features=["res5"])  # fmt: skip
    assert [b.conv1.dilation[0] for b in backbone.res4] == [1, 2]
    assert [b.conv2.dilation[0] for b in backbone.res5] == [5, 9]
    assert backbone.output_shape()["res5"].stride == 8
    head = DUCHead(backbone.output_shape(), num_classes=5, channels=16)
    x = torch.randn(1, 3, 32, 48)
    logits = head.layers(backbone(x))
    assert logits.shape == (1, 5, 32, 48) and head.common_stride == 1
    # pixel shuffle: output pixel (8i + a, 8j + b) of class c is channel c * 64 + 8a + b at (i, j)
    raw = F.conv2d(head.conv(backbone(x)["res5"]), head.predictor.weight, head.predictor.bias,
                   padding=1)  # fmt: skip
    torch.testing.assert_close(logits[0, 2, 8 * 1 + 3, 8 * 2 + 5], raw[0, 2 * 64 + 3 * 8 + 5, 1, 2])


def test_fcn_deconvolution_starts_as_bilinear_upsampling():
    deconv = bilinear_deconv(2, 2)
    x = torch.randn(1, 2, 6, 6)
    y = deconv(x)
    expected = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)
    # equal away from the border (the transposed conv pads with zeros)
    torch.testing.assert_close(y[..., 2:-2, 2:-2], expected[..., 2:-2, 2:-2])


# ---- tiny models: a training step, odd-size inference, HL ---------------------------------------
def _tiny(family, k):
    """(backbone, head) of ``family`` at tiny width with ``k`` classes."""
    if family.startswith("fcn"):
        b = VGG16Backbone(base_channels=4, fc_channels=16)
        return b, FCNSkipHead(b.output_shape(), num_classes=k, output_stride=int(family[3:-1]))
    if family in ("unet", "unet_bilinear"):
        bil = family == "unet_bilinear"
        b = UNetEncoder(base_channels=4, bilinear=bil)
        return b, UNetHead(b.output_shape(), num_classes=k, bilinear=bil)
    if family == "segnet":
        return IdentityBackbone(size_divisibility=32), SegNetHead(
            IMAGE, num_classes=k, base_channels=4
        )
    if family == "enet":
        return IdentityBackbone(size_divisibility=8), ENetHead(
            IMAGE, num_classes=k, base_channels=8
        )
    kw = dict(depth=18, res2_out_channels=8, stem_out_channels=8, size_divisibility=32)
    grid = {"res5_multi_grid": [1, 1]}
    if family == "duc_hdc":
        b = make_resnet_hdc(out_features=["res5"], **kw)
        return b, DUCHead(b.output_shape(), num_classes=k, channels=8)
    if family == "deeplabv3":
        b = make_resnet_dilated(res5_dilation=2, res5_multi_grid=[1, 2], out_features=["res5"],
                                **kw)  # fmt: skip
        return b, DeepLabV3PerPixelHead(b.output_shape(), num_classes=k, channels=8)
    b = make_resnet_dilated(out_features=["res2", "res3", "res4", "res5"], **grid, **kw)
    if family == "gcn":
        return b, GCNHead(b.output_shape(), num_classes=k, channels=4, kernel_size=5)
    assert family == "upernet"
    return b, UPerNetHead(b.output_shape(), num_classes=k, channels=8)


FAMILIES = ["fcn32s", "fcn16s", "fcn8s", "unet", "unet_bilinear", "segnet", "enet", "gcn",
            "duc_hdc", "upernet", "deeplabv3"]  # fmt: skip


def _model(family, k=5, hl=False):
    torch.manual_seed(0)
    backbone, head = _tiny(family, k)
    if hl:
        head = HardnessHead(head=head, hl_head=_tiny(family, 1)[1])
    return HardSegmentor(backbone=backbone, sem_seg_head=head, pixel_mean=[128.0] * 3,
                         pixel_std=[64.0] * 3)  # fmt: skip


def _train_step(model, batch):
    model.train()
    opt = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.01)
    with EventStorage(0):
        losses = model(batch)
    opt.zero_grad()
    sum(losses.values()).backward()
    opt.step()
    return losses


@pytest.mark.parametrize("family", FAMILIES)
def test_trains_a_step_and_infers_at_odd_sizes(family):
    model = _model(family)
    predictor = model.sem_seg_head.predictor
    before = predictor.weight.detach().clone()
    losses = _train_step(model, random_batch(2, 64, 64, num_classes=5))
    assert set(losses) == {"loss_sem_seg"} and torch.isfinite(losses["loss_sem_seg"])
    if family.startswith("fcn"):  # FCN's scores start at zero; their gradient is not zero
        assert predictor.weight.grad.abs().sum() > 0
    else:
        assert not torch.equal(before, predictor.weight)
    model.eval()
    with torch.no_grad():
        out = model(random_batch(1, 97, 131, with_labels=False))
    assert out[0]["sem_seg"].shape == (5, 97, 131)
    assert torch.isfinite(out[0]["sem_seg"]).all()


@pytest.mark.parametrize("family", ["fcn8s", "unet", "segnet", "enet", "gcn", "duc_hdc",
                                    "upernet", "deeplabv3"])  # fmt: skip
def test_hardness_head_wraps_and_trains(family):
    model = _model(family, hl=True)
    losses = _train_step(model, random_batch(2, 64, 64, num_classes=5))
    assert set(losses) == {"loss_sem_seg", "loss_hardness"}
    assert all(torch.isfinite(v) for v in losses.values())
    assert model.sem_seg_head.hl.predictor.out_channels == 1


# docs/methods/cac.md §2: the head feature each family exposes as X
CAC_X = {"fcn8s": "head_input", "unet": "pre_classifier", "segnet": "pre_classifier",
         "enet": "pre_classifier", "gcn": "pre_classifier", "duc_hdc": "pre_classifier",
         "upernet": "pre_classifier", "deeplabv3": "pre_classifier"}  # fmt: skip


@pytest.mark.parametrize("family", list(CAC_X))
def test_cac_head_wraps_and_trains(family):
    torch.manual_seed(0)
    backbone, head = _tiny(family, 5)
    cac = ConfidenceAwareContrastiveHead(head=head, num_classes=5, proj_channels=8, threshold=2,
                                         max_sample=64)  # fmt: skip
    assert cac.cac_input == CAC_X[family]
    model = HardSegmentor(backbone=backbone, sem_seg_head=cac, pixel_mean=[128.0] * 3,
                          pixel_std=[64.0] * 3)  # fmt: skip
    batch = random_batch(2, 64, 64, num_classes=5)
    for b in batch:  # column blocks: even at 1/16 (4 x 4) each class has 4 > threshold pixels
        b["sem_seg"] = (torch.arange(64)[None, :] // 16 % 5).expand(64, 64).clone()
    losses = _train_step(model, batch)
    assert set(losses) == {"loss_sem_seg", "loss_sem_seg_weight", "loss_cac"}
    assert all(torch.isfinite(v) for v in losses.values())
    assert losses["loss_cac"] > 0  # pixels were sampled, the term is not the empty-set zero
    assert cac.proj.conv.weight.grad.abs().sum() > 0


# ---- torchvision checkpoints by key mapping -----------------------------------------------------
def _shapes(sd):
    return {k: tuple(v.shape) for k, v in sd.items()}


@pytest.mark.parametrize("batch_norm", [False, True])
def test_vgg16_keys_map_from_torchvision(batch_norm):
    with torch.device("meta"):
        tv = (torchvision.models.vgg16_bn if batch_norm else torchvision.models.vgg16)()
        ours = VGG16Backbone(norm="BN" if batch_norm else "")
        segnet = SegNetHead(IMAGE, num_classes=12)
    mapped = vgg16_from_torchvision(tv.state_dict(), batch_norm=batch_norm)
    assert _shapes(mapped) == _shapes(ours.state_dict())
    if batch_norm:  # SegNet's encoder takes VGG-16-BN's convs (no fc layers)
        enc = vgg16_from_torchvision(tv.state_dict(), batch_norm=True, prefix="encoder", fc=False)
        assert _shapes(enc) == {
            k: s for k, s in _shapes(segnet.state_dict()).items() if k.startswith("encoder.")
        }
    with pytest.raises(KeyError, match="features.99.weight"):
        vgg16_from_torchvision({"features.99.weight": torch.zeros(1)}, batch_norm=batch_norm)


def test_vgg16_fc_weights_become_convolutions():
    # a Linear over the flattened (512, 7, 7) pool5 equals the 7x7 conv at the centre position
    linear = torch.nn.Linear(512 * 49, 8)
    sd = {"classifier.0.weight": linear.weight.detach(), "classifier.0.bias": linear.bias.detach()}
    conv = vgg16_from_torchvision(sd, batch_norm=False)
    x = torch.randn(1, 512, 7, 7)
    torch.testing.assert_close(
        F.conv2d(x, conv["fc6.weight"], conv["fc6.bias"]).flatten(), linear(x.flatten(1))[0]
    )


@pytest.mark.parametrize("depth", [18, 50, 101])
def test_resnet_keys_map_from_torchvision(depth):
    with torch.device("meta"):
        tv = getattr(torchvision.models, f"resnet{depth}")()
        width = 64 if depth == 18 else 256
        ours = make_resnet_dilated(depth=depth, res2_out_channels=width, stride_in_1x1=False,
                                   res5_multi_grid=[1] * (2 if depth == 18 else 3),
                                   out_features=["res2", "res3", "res4", "res5"])  # fmt: skip
        hdc = make_resnet_hdc(depth=depth, res2_out_channels=width, stride_in_1x1=False,
                              out_features=["res5"])  # fmt: skip
    mapped = resnet_from_torchvision(tv.state_dict())
    assert _shapes(mapped) == _shapes(ours.state_dict())
    assert _shapes(mapped) == _shapes(hdc.state_dict())


# ---- the hardshapes configs (from_config path) --------------------------------------------------
HARDSHAPES = ["fcn8s_VGG16w16_bs8_600it", "unet_s5w16_bs8_600it", "segnet_VGG16BNw16_bs8_600it",
              "enet_bs8_600it", "gcn_R18_k7_bs8_600it", "duc_hdc_R18_os8_bs8_600it",
              "upernet_R18_bs8_600it", "deeplabv3_R18_os8_bs8_600it"]  # fmt: skip


@pytest.mark.parametrize("stem", HARDSHAPES)
def test_hardshapes_config_trains_and_infers_at_odd_sizes(stem):
    from detectron2.modeling import build_model

    from tests.common import tiny_cfg

    torch.manual_seed(0)
    model = build_model(tiny_cfg(config=f"hardshapes/{stem}.yaml"))
    losses = _train_step(model, random_batch(2, 64, 64, num_classes=7))
    assert all(torch.isfinite(v) for v in losses.values())
    model.eval()
    with torch.no_grad():
        out = model(random_batch(1, 97, 131, with_labels=False))
    assert out[0]["sem_seg"].shape == (7, 97, 131)


def test_mapped_torchvision_weights_compute_the_same_features():
    """Loaded strictly, torchvision's ResNet-50 and VGG-16-BN weights give our backbones the
    torchvision models' outputs (eval mode, one 64x64 image)."""
    torch.manual_seed(0)
    x = torch.randn(1, 3, 64, 64)
    tv = torchvision.models.resnet50().eval()
    ours = make_resnet_dilated(depth=50, res2_out_channels=256, stride_in_1x1=False,
                               out_features=["res5"]).eval()  # fmt: skip
    ours.load_state_dict(resnet_from_torchvision(tv.state_dict()), strict=True)
    with torch.no_grad():
        expected = tv.layer4(
            tv.layer3(tv.layer2(tv.layer1(tv.maxpool(tv.relu(tv.bn1(tv.conv1(x)))))))
        )
        torch.testing.assert_close(ours(x)["res5"], expected)

    features = torchvision.models.vgg.make_layers(torchvision.models.vgg.cfgs["D"], batch_norm=True)
    features.eval()
    sd = {f"features.{k}": v for k, v in features.state_dict().items()}
    vgg = VGG16Backbone(norm="BN", fc_channels=0, out_features=["res5"]).eval()
    vgg.load_state_dict(vgg16_from_torchvision(sd, batch_norm=True, fc=False), strict=True)
    with torch.no_grad():
        torch.testing.assert_close(vgg(x)["res5"], features(x))
