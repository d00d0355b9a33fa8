"""mmseg's DeepLabV3+ head (DepthwiseSeparableASPPHead): parameter count of the official HL run's
heads (meta device), the per-pixel contract at tiny width, and the mmseg checkpoint key mapping."""

import importlib.util
from collections import OrderedDict
from pathlib import Path

import torch
from detectron2.modeling import META_ARCH_REGISTRY
from detectron2.utils.events import EventStorage

from hardseg.modeling import DepthwiseSeparableASPPHead, HardnessHead
from tests.common import tiny_cfg

REPO = Path(__file__).resolve().parents[2]
CONFIG = "cityscapes/semantic-segmentation/deeplabv3plus_R101c_os8_769_hl_bs8_40k.yaml"
SHAPES = {"res2": dict(channels=256, stride=4), "res5": dict(channels=2048, stride=8)}


def _mmseg_params(k):
    """Parameters of mmseg 0.22 DepthwiseSeparableASPPHead(in 2048, channels 512, c1 256 -> 48,
    dilations 1/12/24/36) with K classes, counted from its layer list (BN: weight + bias)."""
    conv_bn = lambda cin, cout, kk=1: cin * cout * kk * kk + 2 * cout  # noqa: E731
    sep = lambda cin, cout: conv_bn(1, cin, 3) + conv_bn(cin, cout)  # noqa: E731 (dw + pw)
    return (
        conv_bn(2048, 512)  # image_pool
        + conv_bn(2048, 512)  # 1x1 ASPP branch
        + 3 * sep(2048, 512)  # dilations 12, 24, 36
        + conv_bn(5 * 512, 512, 3)  # bottleneck
        + conv_bn(256, 48)  # c1_bottleneck
        + sep(512 + 48, 512)
        + sep(512, 512)  # sep_bottleneck
        + 512 * k
        + k  # conv_seg
    )


def _count(module):
    return sum(p.numel() for p in module.parameters())


def test_official_config_heads_have_mmseg_parameter_counts():
    cfg = tiny_cfg(config=CONFIG)
    with torch.device("meta"):
        model = META_ARCH_REGISTRY.get(cfg.MODEL.META_ARCHITECTURE)(cfg)
    head = model.sem_seg_head
    assert isinstance(head, HardnessHead)
    assert isinstance(head.seg, DepthwiseSeparableASPPHead)
    assert _count(head.hl) == _mmseg_params(1) == 17_688_689  # the HL copy: ~17.7 M
    assert _count(head.seg) == _mmseg_params(19)
    assert head.seg.align_corners and head.seg.common_stride == 4


def test_tiny_head_follows_the_per_pixel_contract():
    torch.manual_seed(0)
    head = DepthwiseSeparableASPPHead(
        {"res2": dict(channels=8, stride=4), "res5": dict(channels=16, stride=8)},
        num_classes=3, channels=8, c1_channels=4, dilations=(1, 2), align_corners=True,
    )  # fmt: skip
    feats = {"res2": torch.randn(2, 8, 17, 17), "res5": torch.randn(2, 16, 9, 9)}
    logits, taps = head.layers(feats, return_features=True)
    assert logits.shape == (2, 3, 17, 17) and taps["pre_classifier"].shape == (2, 8, 17, 17)
    targets = torch.randint(0, 3, (2, 65, 65))
    with EventStorage():
        loss = head.losses(logits, targets)["loss_sem_seg"]
    loss.backward()
    assert head.pixel_loss(logits, targets).shape == (2, 65, 65)
    assert head.feature_channels == {"pre_classifier": 8}


def _official_head_keys(prefix, k):
    """mmseg 0.22 state-dict names and shapes of DepthwiseSeparableASPPHead, from its layers."""
    sd = OrderedDict()

    def conv_bn(name, cin, cout, kk=1, groups=1):
        sd[f"{prefix}.{name}.conv.weight"] = torch.zeros(cout, cin // groups, kk, kk)
        for b in ("weight", "bias", "running_mean", "running_var"):
            sd[f"{prefix}.{name}.bn.{b}"] = torch.zeros(cout)
        sd[f"{prefix}.{name}.bn.num_batches_tracked"] = torch.tensor(0)

    def sep(name, cin, cout):
        conv_bn(f"{name}.depthwise_conv", cin, cin, 3, groups=cin)
        conv_bn(f"{name}.pointwise_conv", cin, cout)

    conv_bn("image_pool.1", 2048, 512)
    conv_bn("aspp_modules.0", 2048, 512)
    for i in (1, 2, 3):
        sep(f"aspp_modules.{i}", 2048, 512)
    conv_bn("bottleneck", 2560, 512, 3)
    conv_bn("c1_bottleneck", 256, 48)
    sep("sep_bottleneck.0", 560, 512)
    sep("sep_bottleneck.1", 512, 512)
    sd[f"{prefix}.conv_seg.weight"] = torch.zeros(k, 512, 1, 1)
    sd[f"{prefix}.conv_seg.bias"] = torch.zeros(k)
    return sd


def test_mmseg_deeplabv3plus_head_keys_convert_onto_the_head():
    spec = importlib.util.spec_from_file_location(
        "convert_mmseg_checkpoint", REPO / "tools/convert_mmseg_checkpoint.py"
    )
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    sd = OrderedDict()
    sd.update(_official_head_keys("decode_head", 19))
    sd.update(_official_head_keys("weigh_head", 1))
    out, dropped = tool.convert(sd)
    assert not dropped
    with torch.device("meta"):
        seg = DepthwiseSeparableASPPHead(SHAPES, num_classes=19)
        hl = DepthwiseSeparableASPPHead(SHAPES, num_classes=1)
    expected = {f"sem_seg_head.{k}": v.shape for k, v in seg.state_dict().items()}
    expected.update({f"sem_seg_head.hl.{k}": v.shape for k, v in hl.state_dict().items()})
    assert {k: v.shape for k, v in out.items()} == expected
    assert out["sem_seg_head.aspp_modules.2.depthwise_conv.norm.running_var"].shape == (2048,)
