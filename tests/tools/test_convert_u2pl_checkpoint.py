"""The official U2PL network (Haochen-Wang409/U2PL @ab3d2be: ``u2pl/models/resnet.py``
``ResNet``/``Bottleneck``, ``u2pl/models/base.py`` ``ASPP``, ``u2pl/models/decoder.py``
``dec_deeplabv3_plus``/``Aux_Module``, ``u2pl/models/model_helper.py`` ``ModelBuilder``): its
state-dict key list is generated here from those definitions; HardSeg's
``U2PLDeepLabV3PlusHead`` has its parameter count and tools/convert_u2pl_checkpoint.py maps every
key onto the HardSeg model."""

from collections import OrderedDict

import pytest
import torch
from torch import nn

from detectron2.modeling import META_ARCH_REGISTRY

from tests.common import REPO, tiny_cfg

CS = "cityscapes/semi-supervised/{}_deeplabv3plus_R103_os8_mg124_769_bs16_28k_1-4.yaml"
BN_KEYS = ("weight", "bias", "running_mean", "running_var", "num_batches_tracked")


def official_u2pl_keys(num_classes=19, aux=True, rep_head=True, blocks=(3, 4, 23, 3)):
    """OrderedDict {official key: (shape, is_parameter)} of ``ModelBuilder`` with the ResNet-101
    encoder (deep stem 64-64-128, fpn outputs), ``dec_deeplabv3_plus`` (inner 256, rep head) and
    ``Aux_Module`` on layer3 (1024 channels)."""
    sd = OrderedDict()

    def conv(name, cout, cin, k, bias=False):
        sd[f"{name}.weight"] = ((cout, cin, k, k), True)
        if bias:
            sd[f"{name}.bias"] = ((cout,), True)

    def bn(name, c):
        for key in BN_KEYS:
            param = key in ("weight", "bias")
            sd[f"{name}.{key}"] = (() if key == "num_batches_tracked" else (c,), param)

    # encoder: conv1 = Sequential(conv3x3 s2, BN, ReLU, conv3x3, BN, ReLU, conv3x3), bn1
    conv("encoder.conv1.0", 64, 3, 3)
    bn("encoder.conv1.1", 64)
    conv("encoder.conv1.3", 64, 64, 3)
    bn("encoder.conv1.4", 64)
    conv("encoder.conv1.6", 128, 64, 3)
    bn("encoder.bn1", 128)
    inplanes = 128
    for layer, n in enumerate(blocks, start=1):
        planes = 64 * 2 ** (layer - 1)
        for b in range(n):
            p = f"encoder.layer{layer}.{b}"
            conv(f"{p}.conv1", planes, inplanes, 1)
            bn(f"{p}.bn1", planes)
            conv(f"{p}.conv2", planes, planes, 3)
            bn(f"{p}.bn2", planes)
            conv(f"{p}.conv3", planes * 4, planes, 1)
            bn(f"{p}.bn3", planes * 4)
            if b == 0:  # stride or channel change (layer1: 128 -> 256)
                conv(f"{p}.downsample.0", planes * 4, inplanes, 1)
                bn(f"{p}.downsample.1", planes * 4)
            inplanes = planes * 4
    # decoder
    conv("decoder.low_conv.0", 256, 256, 1, bias=True)
    bn("decoder.low_conv.1", 256)
    conv("decoder.aspp.conv1.1", 256, 2048, 1)  # after AdaptiveAvgPool2d
    bn("decoder.aspp.conv1.2", 256)
    conv("decoder.aspp.conv2.0", 256, 2048, 1)
    bn("decoder.aspp.conv2.1", 256)
    for k in (3, 4, 5):
        conv(f"decoder.aspp.conv{k}.0", 256, 2048, 3)
        bn(f"decoder.aspp.conv{k}.1", 256)
    conv("decoder.head.0", 256, 1280, 3)
    bn("decoder.head.1", 256)
    branches = [("classifier", num_classes)] + ([("representation", 256)] if rep_head else [])
    for name, out in branches:
        conv(f"decoder.{name}.0", 256, 512, 3, bias=True)
        bn(f"decoder.{name}.1", 256)
        conv(f"decoder.{name}.4", 256, 256, 3, bias=True)
        bn(f"decoder.{name}.5", 256)
        conv(f"decoder.{name}.8", out, 256, 1, bias=True)
    if aux:
        conv("auxor.aux.0", 256, 1024, 3, bias=True)
        bn("auxor.aux.1", 256)
        conv("auxor.aux.4", num_classes, 256, 1, bias=True)
    return sd


def _tool():
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "convert_u2pl_checkpoint", REPO / "tools/convert_u2pl_checkpoint.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _meta_model(kind):
    cfg = tiny_cfg(config=CS.format(kind))
    with torch.device("meta"):
        return META_ARCH_REGISTRY.get(cfg.MODEL.META_ARCHITECTURE)(cfg)


def test_official_student_has_66_8_m_parameters_and_hardseg_matches():
    official = sum(
        torch.Size(shape).numel() for shape, param in official_u2pl_keys().values() if param
    )
    assert round(official / 1e6, 1) == 66.8
    student = _meta_model("u2pl").student
    ours = sum(p.numel() for p in student.parameters())
    # the official aux conv's bias (256) is folded into its BatchNorm by the converter
    assert official - ours == 256
    head = student.segmentor.sem_seg_head
    assert type(head).__name__ == "U2PLDeepLabV3PlusHead"
    assert head.aspp_reduce.weight.shape[-2:] == (3, 3)  # 3x3 ASPP reduction
    assert head.align_corners


def test_every_official_key_maps_onto_the_suponly_model():
    sd = OrderedDict(
        (f"module.{k}", torch.zeros(shape, device="meta"))
        for k, (shape, _) in official_u2pl_keys().items()
    )
    converted, dropped = _tool().convert(sd)
    assert dropped and all(k.startswith("decoder.representation.") for k in dropped)
    model = _meta_model("suponly")
    ours = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    assert {k: tuple(v.shape) for k, v in converted.items()} == ours
    model.load_state_dict(converted, strict=True)


def test_unknown_key_is_an_error():
    with pytest.raises(ValueError, match="not a key of the official U2PL"):
        _tool().convert({"decoder.extra.weight": torch.zeros(1)})


def test_aux_bias_folding_is_exact():
    """conv(x) + b then BN equals conv(x) then BN with running_mean - b (eval), and batch
    statistics ignore a constant shift (train)."""
    torch.manual_seed(0)
    with_bias = nn.Sequential(nn.Conv2d(4, 3, 3, padding=1, bias=True), nn.BatchNorm2d(3))
    without = nn.Sequential(nn.Conv2d(4, 3, 3, padding=1, bias=False), nn.BatchNorm2d(3))
    with_bias[1].running_mean.normal_()
    with_bias[1].running_var.uniform_(0.5, 2)
    with_bias[1].weight.data.normal_()
    sd = {
        "auxor.aux.0.weight": with_bias[0].weight.data,
        "auxor.aux.0.bias": with_bias[0].bias.data,
        **{f"auxor.aux.1.{k}": v for k, v in with_bias[1].state_dict().items()},
    }
    converted, _ = _tool().convert(sd)
    without[0].weight.data.copy_(converted["aux_head.convs.0.weight"])
    without[1].load_state_dict(
        {k.split("norm.")[1]: v for k, v in converted.items() if ".norm." in k}
    )
    x = torch.randn(2, 4, 5, 5)
    for mode in ("eval", "train"):
        getattr(with_bias, mode)()
        getattr(without, mode)()
        assert torch.allclose(with_bias(x), without(x), atol=1e-5)


def test_teacher_branch_is_the_default(tmp_path):
    tool = _tool()
    student = {"encoder.bn1.weight": torch.zeros(2)}
    teacher = {"encoder.bn1.weight": torch.ones(2)}
    path = tmp_path / "ckpt.pth"
    torch.save({"epoch": 1, "model_state": student, "teacher_state": teacher}, path)
    state, branch = tool._load_official(str(path), None)
    assert branch == "teacher" and torch.equal(state["encoder.bn1.weight"], torch.ones(2))
    state, branch = tool._load_official(str(path), "student")
    assert branch == "student" and torch.equal(state["encoder.bn1.weight"], torch.zeros(2))


def _official_decoder(in_planes, num_classes):
    """``dec_deeplabv3_plus`` (rep head off) and its ``ASPP``, written out with nn modules in the
    official order, and its forward (eval mode)."""

    def cbr(cin, cout, k, d=1, bias=False):
        return [nn.Conv2d(cin, cout, k, padding=d * (k // 2), dilation=d, bias=bias),
                nn.BatchNorm2d(cout), nn.ReLU()]  # fmt: skip

    dec = nn.Module()
    dec.low_conv = nn.Sequential(*cbr(256, 256, 1, bias=True))
    dec.aspp = nn.Module()
    dec.aspp.conv1 = nn.Sequential(nn.AdaptiveAvgPool2d((1, 1)), *cbr(in_planes, 256, 1))
    dec.aspp.conv2 = nn.Sequential(*cbr(in_planes, 256, 1))
    for k, d in zip((3, 4, 5), (12, 24, 36)):
        setattr(dec.aspp, f"conv{k}", nn.Sequential(*cbr(in_planes, 256, 3, d)))
    dec.head = nn.Sequential(*cbr(1280, 256, 3), nn.Dropout2d(0.1))
    dec.classifier = nn.Sequential(
        *cbr(512, 256, 3, bias=True), nn.Dropout2d(0.1), *cbr(256, 256, 3, bias=True),
        nn.Dropout2d(0.1), nn.Conv2d(256, num_classes, 1),
    )  # fmt: skip

    def forward(x1, x4):
        a = dec.aspp
        h, w = x4.shape[-2:]
        up = dict(mode="bilinear", align_corners=True)
        feats = [torch.nn.functional.interpolate(a.conv1(x4), size=(h, w), **up)]
        feats += [getattr(a, f"conv{k}")(x4) for k in (2, 3, 4, 5)]
        y = dec.head(torch.cat(feats, 1))
        low = dec.low_conv(x1)
        y = torch.nn.functional.interpolate(y, size=low.shape[-2:], **up)
        return dec.classifier(torch.cat((low, y), 1))

    return dec, forward


def test_head_computes_the_official_decoder():
    from hardseg.modeling.heads import U2PLDeepLabV3PlusHead

    torch.manual_seed(0)
    dec, official_forward = _official_decoder(in_planes=64, num_classes=5)
    for m in dec.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.normal_()
            m.running_var.uniform_(0.5, 2.0)
            m.weight.data.normal_()
            m.bias.data.normal_()
    dec.eval()
    head = U2PLDeepLabV3PlusHead(
        {"res2": dict(channels=256, stride=4), "res5": dict(channels=64, stride=8)},
        num_classes=5,
        norm="BN",
    ).eval()
    converted, _ = _tool().convert({f"decoder.{k}": v for k, v in dec.state_dict().items()})
    head.load_state_dict({k[len("sem_seg_head.") :]: v for k, v in converted.items()})
    x1, x4 = torch.randn(2, 256, 9, 9), torch.randn(2, 64, 5, 5)
    with torch.no_grad():
        ours = head.layers({"res2": x1, "res5": x4})
        assert torch.allclose(ours, official_forward(x1, x4), atol=1e-4)
