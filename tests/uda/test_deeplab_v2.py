"""DeepLab-v2 (HIAST's segmentor): torchvision key mapping, dilation layout, parameter count,
half-frozen BN (docs/methods/hiast.md §8)."""

import unittest

import pytest

import torch
import torchvision

from hardseg.modeling.backbone.resnet_dilated import make_resnet_dilated
from hardseg.modeling.backbone.torchvision_keys import (
    convert_torchvision_resnet,
    torchvision_resnet_key,
)
from hardseg.modeling.heads import ASPPV2Head
from hardseg.modeling.uda import freeze_bn_affine_


def deeplab_v2_backbone(width=64):
    return make_resnet_dilated(
        depth=101,
        stem_out_channels=width,
        res2_out_channels=width * 4,
        stride_in_1x1=False,
        res4_dilation=2,
        res5_dilation=4,
        contract_dilation=True,
        out_features=["res5"],
    )


class TestDeepLabV2(unittest.TestCase):
    def test_torchvision_keys_shapes_and_dilations(self):
        with torch.device("meta"):
            tv = torchvision.models.resnet101(replace_stride_with_dilation=[False, True, True])
            ours = deeplab_v2_backbone()
        converted = convert_torchvision_resnet(tv.state_dict())
        mine = ours.state_dict()
        self.assertEqual(set(converted), set(mine))
        for k, v in converted.items():
            self.assertEqual(v.shape, mine[k].shape, k)
        # every conv's stride and dilation as torchvision's dilated ResNet-101
        ours_modules = dict(ours.named_modules())
        n = 0
        for name, m in tv.named_modules():
            if isinstance(m, torch.nn.Conv2d):
                other = ours_modules[torchvision_resnet_key(name + ".weight")[: -len(".weight")]]
                self.assertEqual((other.stride, other.dilation), (m.stride, m.dilation), name)
                n += 1
        self.assertEqual(n, 104)
        self.assertIsNone(torchvision_resnet_key("fc.weight"))
        with self.assertRaisesRegex(ValueError, "layer1.0.foo"):
            torchvision_resnet_key("layer1.0.foo")

    def test_parameter_count(self):
        with torch.device("meta"):
            backbone = deeplab_v2_backbone()
            head = ASPPV2Head(backbone.output_shape(), num_classes=19)
        n = sum(p.numel() for p in [*backbone.parameters(), *head.parameters()])
        # torchvision ResNet-101: 44,549,160 with its fc (2048 * 1000 + 1000);
        # ASPP-v2: 4 x (2048 * 19 * 9 + 19)
        self.assertEqual(n, 44_549_160 - 2_049_000 + 4 * (2048 * 19 * 9 + 19))

    def test_output_stride_sum_and_half_frozen_bn(self):
        torch.manual_seed(0)
        backbone = deeplab_v2_backbone(width=4)
        head = ASPPV2Head(backbone.output_shape(), num_classes=3, dilations=(1, 2))
        self.assertEqual(backbone.output_shape()["res5"].stride, 8)
        x = torch.randn(2, 3, 32, 32)
        feats = backbone(x)
        self.assertEqual(tuple(feats["res5"].shape), (2, 128, 4, 4))
        logits, extra = head.layers(feats, return_features=True)
        expected = head.branches[0](feats["res5"]) + head.branches[1](feats["res5"])
        torch.testing.assert_close(logits, expected)
        self.assertIs(extra["pre_classifier"], feats["res5"])

        self.assertEqual(freeze_bn_affine_(backbone), 1 + 3 * 33 + 4)
        bn = backbone.stem.conv1.norm
        before = bn.running_mean.clone()
        backbone.train()
        backbone(x)["res5"].sum().backward()
        self.assertFalse(torch.equal(before, bn.running_mean))
        self.assertFalse(bn.weight.requires_grad)
        self.assertIsNone(bn.weight.grad)
        self.assertIsNotNone(backbone.stem.conv1.weight.grad)


def test_official_hiast_keys_convert_to_hardseg_model(tmp_path):
    """Key list generated from the official DeepLab_V2 definition (torchvision ResNet-101 as
    ``backbone``, ``aspp.conv2d_list.{0..3}`` 2048 -> 19, ``representation.0`` 2048 -> 256),
    wrapped by DDP; converted, it loads strictly into the GTA5 -> Cityscapes config's model."""
    from detectron2.modeling import META_ARCH_REGISTRY

    from hardseg.modeling.uda.official_keys import convert_official_deeplab_v2, unwrap_state_dict
    from tests.common import tiny_cfg

    with torch.device("meta"):
        tv = torchvision.models.resnet101()
    official = {f"module.backbone.{k}": v for k, v in tv.state_dict().items()}
    for i in range(4):
        official[f"module.aspp.conv2d_list.{i}.weight"] = torch.empty(19, 2048, 3, 3, device="meta")
        official[f"module.aspp.conv2d_list.{i}.bias"] = torch.empty(19, device="meta")
    official["module.representation.0.weight"] = torch.empty(256, 2048, 1, 1, device="meta")
    official["module.representation.0.bias"] = torch.empty(256, device="meta")
    converted = convert_official_deeplab_v2(unwrap_state_dict({"state_dict": official}))
    cfg = tiny_cfg(
        config="uda/gta5_cityscapes/hiast_source_only_deeplabv2_R101_gta5_cityscapes.yaml"
    )
    with torch.device("meta"):
        model = META_ARCH_REGISTRY.get(cfg.MODEL.META_ARCHITECTURE)(cfg)
    expected = model.state_dict()
    assert set(converted) == set(expected)
    for k in expected:
        assert converted[k].shape == expected[k].shape, k
    with pytest.raises(ValueError, match="'decoder.weight'"):
        convert_official_deeplab_v2({"decoder.weight": torch.zeros(1)})


def test_deeplab_v2_trains_and_infers_as_a_per_pixel_model():
    """The head contract in a HardSegmentor: the loss of the upsampled logits, inference at the
    input size, BN affine frozen by the trainer's MODEL.UDA.FREEZE_BN_AFFINE."""
    from detectron2.utils.events import EventStorage

    from hardseg.engine import Trainer
    from tests.common import random_batch, tiny_cfg

    torch.manual_seed(0)
    model = Trainer.build_model(
        tiny_cfg(config="hardshapes/uda/deeplabv2_R18_source_only_tiny.yaml")
    )
    assert not model.backbone.stem.conv1.norm.weight.requires_grad
    model.train()
    with EventStorage():
        losses = model(random_batch(n=2, h=64, w=64, num_classes=7))
    assert set(losses) == {"loss_sem_seg"} and losses["loss_sem_seg"].item() > 0
    model.eval()
    with torch.no_grad():
        out = model(random_batch(n=1, h=64, w=64, with_labels=False))
    assert out[0]["sem_seg"].shape == (7, 64, 64)
