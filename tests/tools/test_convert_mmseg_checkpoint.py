"""tools/convert_mmseg_checkpoint.py on a state dict with the official key names and shapes of the
released HL PSPNet-R101-D8 (ResNet-101-V1c, PSP head, FCN aux head, weigh_head), generated here."""

from collections import OrderedDict

import pytest
import torch

from detectron2.checkpoint import DetectionCheckpointer
from detectron2.modeling import build_model

from tests.common import REPO, tiny_cfg

PSP_HL = "cityscapes/semantic-segmentation/pspnet_R101c_os8_769_hl_bs8_40k.yaml"
PSP = "cityscapes/semantic-segmentation/pspnet_R101c_os8_769_bs8_40k.yaml"


def _bn(sd, prefix, c, fill):
    for name in ("weight", "bias", "running_mean", "running_var"):
        sd[f"{prefix}.{name}"] = torch.full((c,), fill)
    sd[f"{prefix}.num_batches_tracked"] = torch.tensor(7)


def official_pspnet_r101_hl_state_dict():
    """mmseg 0.22 key names/shapes: ResNetV1c-101 + PSPHead(19) + FCNHead aux(19) + weigh_head(1).
    Every tensor is filled with its own index, so that the mapping can be checked by value."""
    sd = OrderedDict()
    counter = iter(range(1, 10**6))

    def conv(key, shape):
        sd[key] = torch.full(shape, float(next(counter)))

    for i, (cin, cout) in zip((0, 3, 6), ((3, 32), (32, 32), (32, 64))):
        conv(f"backbone.stem.{i}.weight", (cout, cin, 3, 3))
        _bn(sd, f"backbone.stem.{i + 1}", cout, float(next(counter)))
    inplanes = 64
    for layer, blocks in enumerate((3, 4, 23, 3), start=1):
        planes = 64 * 2 ** (layer - 1)
        for b in range(blocks):
            p = f"backbone.layer{layer}.{b}"
            conv(f"{p}.conv1.weight", (planes, inplanes, 1, 1))
            _bn(sd, f"{p}.bn1", planes, float(next(counter)))
            conv(f"{p}.conv2.weight", (planes, planes, 3, 3))
            _bn(sd, f"{p}.bn2", planes, float(next(counter)))
            conv(f"{p}.conv3.weight", (planes * 4, planes, 1, 1))
            _bn(sd, f"{p}.bn3", planes * 4, float(next(counter)))
            if b == 0:
                conv(f"{p}.downsample.0.weight", (planes * 4, inplanes, 1, 1))
                _bn(sd, f"{p}.downsample.1", planes * 4, float(next(counter)))
            inplanes = planes * 4
    for head, classes in (("decode_head", 19), ("weigh_head", 1)):
        conv(f"{head}.conv_seg.weight", (classes, 512, 1, 1))
        conv(f"{head}.conv_seg.bias", (classes,))
        for s in range(4):
            conv(f"{head}.psp_modules.{s}.1.conv.weight", (512, 2048, 1, 1))
            _bn(sd, f"{head}.psp_modules.{s}.1.bn", 512, float(next(counter)))
        conv(f"{head}.bottleneck.conv.weight", (512, 4096, 3, 3))
        _bn(sd, f"{head}.bottleneck.bn", 512, float(next(counter)))
    conv("auxiliary_head.conv_seg.weight", (19, 256, 1, 1))
    conv("auxiliary_head.conv_seg.bias", (19,))
    conv("auxiliary_head.convs.0.conv.weight", (256, 1024, 3, 3))
    _bn(sd, "auxiliary_head.convs.0.bn", 256, float(next(counter)))
    return sd


def _tool():
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "convert_mmseg_checkpoint", REPO / "tools/convert_mmseg_checkpoint.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def official(tmp_path_factory):
    path = tmp_path_factory.mktemp("mmseg") / "pspnet_r101_hl.pth"
    sd = official_pspnet_r101_hl_state_dict()
    torch.save({"meta": {"mmseg_version": "0.22.1"}, "state_dict": sd}, path)
    return path, sd


def test_hl_checkpoint_loads_strictly_and_values_land_in_place(official, tmp_path):
    path, sd = official
    out = tmp_path / "hardseg.pth"
    _tool().main([str(path), str(out)])
    model = build_model(tiny_cfg(config=PSP_HL))
    converted = torch.load(out, weights_only=True)["model"]
    model.load_state_dict(converted, strict=True)  # no missing, no unexpected keys
    DetectionCheckpointer(model).load(str(out))  # what --eval-only does
    state = model.state_dict()
    pairs = {
        "backbone.stem.0.weight": "backbone.stem.conv1.weight",
        "backbone.stem.7.running_var": "backbone.stem.conv3.norm.running_var",
        "backbone.layer3.22.conv2.weight": "backbone.res4.22.conv2.weight",
        "backbone.layer1.0.downsample.1.bias": "backbone.res2.0.shortcut.norm.bias",
        "decode_head.psp_modules.3.1.conv.weight": "sem_seg_head.ppm.3.weight",
        "decode_head.bottleneck.bn.running_mean": "sem_seg_head.bottleneck.norm.running_mean",
        "decode_head.conv_seg.bias": "sem_seg_head.predictor.bias",
        "weigh_head.conv_seg.weight": "sem_seg_head.hl.predictor.weight",
        "weigh_head.psp_modules.0.1.bn.weight": "sem_seg_head.hl.ppm.0.norm.weight",
        "auxiliary_head.convs.0.conv.weight": "aux_head.convs.0.weight",
        "auxiliary_head.conv_seg.weight": "aux_head.predictor.weight",
    }
    for mm, ours in pairs.items():
        assert torch.equal(state[ours], sd[mm]), (mm, ours)
    assert len(state) == len(sd)


def test_drop_hl_gives_the_plain_model(official, tmp_path, capsys):
    path, _ = official
    out = tmp_path / "plain.pth"
    _tool().main([str(path), str(out), "--drop-hl", "--check-config", str(REPO / "configs" / PSP)])
    assert "strict load OK" in capsys.readouterr().out
    keys = torch.load(out, weights_only=True)["model"]
    assert not any(".hl." in k for k in keys)


def test_unknown_or_colliding_keys_are_an_error():
    convert = _tool().convert
    with pytest.raises(KeyError, match="no HardSeg counterpart"):
        convert({"decode_head.ocr.weight": torch.zeros(1)})
    with pytest.raises(KeyError, match="two mmseg keys map"):
        convert({"backbone.stem.0.weight": torch.zeros(1), "backbone.conv1.weight": torch.zeros(1)})
