"""Tests for hardseg.modeling.backbone.resnet_dilated (CPU, tiny widths)."""

import math

import pytest
import torch
from torch import nn

from detectron2.config import get_cfg
from detectron2.layers import Conv2d, FrozenBatchNorm2d, ShapeSpec
from detectron2.modeling import BACKBONE_REGISTRY, build_backbone
from detectron2.projects.deeplab import add_deeplab_config
from detectron2.projects.deeplab.resnet import DeepLabStem, build_resnet_deeplab_backbone

from hardseg.modeling.backbone import DilatedBasicBlock, build_resnet_dilated_backbone

NAME = "build_resnet_dilated_backbone"
FEATURES = ["res2", "res3", "res4", "res5"]
H, W = 64, 96
# (RES4_DILATION, RES5_DILATION) -> expected strides of res2..res5
OUTPUT_STRIDES = {
    "os8": ((2, 4), {"res2": 4, "res3": 8, "res4": 8, "res5": 8}),
    "os16": ((1, 2), {"res2": 4, "res3": 8, "res4": 16, "res5": 16}),
}


def _num_res5_blocks(depth):
    return {18: 2, 34: 3, 50: 3, 101: 3}[depth]


def make_cfg(depth=18, os_name="os16", norm="BN", tiny=True, stem="deeplab", multi_grid=None):
    cfg = get_cfg()
    add_deeplab_config(cfg)
    r = cfg.MODEL.RESNETS
    cfg.MODEL.BACKBONE.NAME = NAME
    cfg.MODEL.BACKBONE.FREEZE_AT = 0
    r.DEPTH = depth
    r.NORM = norm
    r.STEM_TYPE = stem
    r.OUT_FEATURES = list(FEATURES)
    (r.RES4_DILATION, r.RES5_DILATION), _ = OUTPUT_STRIDES[os_name]
    if multi_grid is None:
        multi_grid = [1, 2] if depth == 18 else [1, 2, 4]
    r.RES5_MULTI_GRID = list(multi_grid)
    if depth in (18, 34):
        r.RES2_OUT_CHANNELS = 16 if tiny else 64
        r.STEM_OUT_CHANNELS = 16 if tiny else 64
    elif tiny:
        r.RES2_OUT_CHANNELS = 32
        r.WIDTH_PER_GROUP = 8
        r.STEM_OUT_CHANNELS = 16
    return cfg


def build(cfg):
    return build_resnet_dilated_backbone(cfg, ShapeSpec(channels=3))


def n_params(module):
    return sum(p.numel() for p in module.parameters())


def test_registered():
    assert BACKBONE_REGISTRY.get(NAME) is build_resnet_dilated_backbone
    model = build_backbone(make_cfg())  # through detectron2's registry entry point
    assert set(model.output_shape()) == set(FEATURES)


@pytest.mark.parametrize("os_name", ["os8", "os16"])
@pytest.mark.parametrize("depth", [18, 50])
def test_output_shapes_match_reported(depth, os_name):
    torch.manual_seed(0)
    cfg = make_cfg(depth=depth, os_name=os_name)
    model = build(cfg).eval()
    shapes = model.output_shape()
    _, expected_strides = OUTPUT_STRIDES[os_name]
    assert {k: v.stride for k, v in shapes.items()} == expected_strides

    c = cfg.MODEL.RESNETS.RES2_OUT_CHANNELS
    with torch.no_grad():
        out = model(torch.randn(2, 3, H, W))
    assert list(out) == FEATURES
    for i, name in enumerate(FEATURES):
        s = shapes[name]
        assert s.channels == c * 2**i
        assert tuple(out[name].shape) == (2, s.channels, H // s.stride, W // s.stride), name
        assert torch.isfinite(out[name]).all()


@pytest.mark.parametrize("depth", [18, 34, 50, 101])
def test_block_counts_and_odd_input_sizes(depth):
    model = build(make_cfg(depth=depth, os_name="os8")).eval()
    expected_blocks = {18: [2, 2, 2, 2], 34: [3, 4, 6, 3], 50: [3, 4, 6, 3], 101: [3, 4, 23, 3]}
    assert [len(getattr(model, n)) for n in FEATURES] == expected_blocks[depth]
    with torch.no_grad():
        out = model(torch.randn(1, 3, 37, 50))
    for name, s in model.output_shape().items():
        assert out[name].shape[-2:] == (math.ceil(37 / s.stride), math.ceil(50 / s.stride))


def _3x3_convs(block):
    return [m for m in block.modules() if isinstance(m, Conv2d) and m.kernel_size == (3, 3)]


@pytest.mark.parametrize(
    "depth,os_name,multi_grid",
    [
        (18, "os8", [1, 2]),
        (18, "os16", [1, 2]),
        (18, "os16", [1, 1]),
        (34, "os8", [1, 2, 4]),
        (50, "os8", [1, 2, 4]),
        (50, "os16", [1, 2, 4]),
        (50, "os16", [1, 1, 1]),
    ],
)
def test_conv_dilations(depth, os_name, multi_grid):
    cfg = make_cfg(depth=depth, os_name=os_name, multi_grid=multi_grid)
    r = cfg.MODEL.RESNETS
    model = build(cfg)

    assert len(model.res5) == len(multi_grid)
    for block, mg in zip(model.res5, multi_grid):
        convs = _3x3_convs(block)
        assert len(convs) == (2 if depth in (18, 34) else 1)
        for conv in convs:
            d = r.RES5_DILATION * mg
            assert conv.dilation == (d, d)
            assert conv.padding == (d, d)
        if depth in (18, 34) and r.RES5_DILATION * mg > 1:
            assert isinstance(block, DilatedBasicBlock)
    for block in model.res4:
        for conv in _3x3_convs(block):
            assert conv.dilation == (r.RES4_DILATION,) * 2
    for stage in (model.res2, model.res3):
        for block in stage:
            for conv in _3x3_convs(block):
                assert conv.dilation == (1, 1)
    # dilated stages do not downsample; undilated res3..res5 downsample in their first block
    for name in ("res3", "res4", "res5"):
        stage = getattr(model, name)
        dil = {"res3": 1, "res4": r.RES4_DILATION, "res5": r.RES5_DILATION}[name]
        assert [b.stride for b in stage] == [1 if dil > 1 else 2] + [1] * (len(stage) - 1)


@pytest.mark.parametrize("os_name", ["os8", "os16"])
def test_r50_matches_detectron2_deeplab_builder(os_name):
    # default (full) widths, deeplab stem with 128 channels: an independent reference
    cfg = make_cfg(depth=50, os_name=os_name, tiny=False, norm="FrozenBN")
    cfg.MODEL.RESNETS.STEM_OUT_CHANNELS = 128
    cfg.MODEL.BACKBONE.FREEZE_AT = 2
    ours = build(cfg)
    ref = build_resnet_deeplab_backbone(cfg, ShapeSpec(channels=3))
    assert isinstance(ours.stem, DeepLabStem)
    assert n_params(ours) == n_params(ref)
    ours_sd, ref_sd = ours.state_dict(), ref.state_dict()
    assert set(ours_sd) == set(ref_sd)
    assert all(ours_sd[k].shape == v.shape for k, v in ref_sd.items())
    assert ours.output_shape() == ref.output_shape()
    assert [p.requires_grad for p in ours.parameters()] == [
        p.requires_grad for p in ref.parameters()
    ]
    # the 3x3 conv dilations agree module by module
    ours_d = {n: m.dilation for n, m in ours.named_modules() if isinstance(m, nn.Conv2d)}
    ref_d = {n: m.dilation for n, m in ref.named_modules() if isinstance(m, nn.Conv2d)}
    assert ours_d == ref_d


@pytest.mark.parametrize("depth", [18, 34])
@pytest.mark.parametrize("os_name", ["os8", "os16"])
def test_basic_param_count_matches_torchvision(depth, os_name):
    torchvision = pytest.importorskip("torchvision")
    tv = getattr(torchvision.models, f"resnet{depth}")(weights=None)
    tv_count = sum(p.numel() for n, p in tv.named_parameters() if not n.startswith("fc."))
    if depth == 18:
        assert tv_count == 11_689_512 - 513_000

    # Dilation changes neither weight shapes nor parameter counts.
    cfg = make_cfg(depth=depth, os_name=os_name, tiny=False, stem="basic")
    model = build(cfg)
    assert n_params(model) == tv_count
    assert model.output_shape()["res5"].channels == 512


def test_torchvision_r50_param_count_basic_stem():
    torchvision = pytest.importorskip("torchvision")
    tv = torchvision.models.resnet50(weights=None)
    tv_count = sum(p.numel() for n, p in tv.named_parameters() if not n.startswith("fc."))
    cfg = make_cfg(depth=50, os_name="os8", tiny=False, stem="basic")
    assert n_params(build(cfg)) == tv_count


@pytest.mark.parametrize(
    "norm,norm_type",
    [
        ("BN", nn.BatchNorm2d),
        ("SyncBN", nn.SyncBatchNorm),
        ("GN", nn.GroupNorm),
        ("FrozenBN", FrozenBatchNorm2d),
    ],
)
def test_norm_is_used_as_configured(norm, norm_type):
    cfg = make_cfg(depth=18, os_name="os8", norm=norm)
    cfg.MODEL.RESNETS.RES2_OUT_CHANNELS = 32  # GN uses 32 groups
    cfg.MODEL.RESNETS.STEM_OUT_CHANNELS = 64
    model = build(cfg)
    norms = [m.norm for m in model.modules() if isinstance(m, Conv2d)]
    assert norms and all(type(n) is norm_type for n in norms)


@pytest.mark.parametrize("depth", [18, 50])
def test_group_norm_builds_and_runs(depth):
    torch.manual_seed(0)
    cfg = make_cfg(depth=depth, os_name="os8", norm="GN")
    r = cfg.MODEL.RESNETS
    if depth == 18:
        r.RES2_OUT_CHANNELS, r.STEM_OUT_CHANNELS = 32, 64
    else:
        r.RES2_OUT_CHANNELS, r.WIDTH_PER_GROUP, r.STEM_OUT_CHANNELS = 128, 32, 64
    model = build(cfg).train()
    h, w = 32, 48
    out = model(torch.randn(2, 3, h, w))
    for name, s in model.output_shape().items():
        assert tuple(out[name].shape) == (2, s.channels, h // s.stride, w // s.stride)
    sum(o.mean() for o in out.values()).backward()
    assert all(torch.isfinite(p.grad).all() for p in model.parameters())


def _expect_value_error(cfg, *fragments):
    with pytest.raises(ValueError) as e:
        build(cfg)
    for f in fragments:
        assert f in str(e.value), (f, str(e.value))


@pytest.mark.parametrize("depth", [10, 152, 200])
def test_invalid_depth(depth):
    cfg = make_cfg()
    cfg.MODEL.RESNETS.DEPTH = depth
    _expect_value_error(cfg, str(depth), "18", "34", "50", "101")


@pytest.mark.parametrize("res4,res5,bad", [(3, 4, "3"), (1, 8, "8"), (2, 2, "2"), (2, 1, "1")])
def test_invalid_dilation_combo(res4, res5, bad):
    cfg = make_cfg()
    cfg.MODEL.RESNETS.RES4_DILATION = res4
    cfg.MODEL.RESNETS.RES5_DILATION = res5
    _expect_value_error(cfg, "DILATION", bad)


def test_invalid_stem_type():
    cfg = make_cfg()
    cfg.MODEL.RESNETS.STEM_TYPE = "fancy"
    _expect_value_error(cfg, "fancy", "basic", "deeplab")


@pytest.mark.parametrize("depth,mg", [(18, [1, 2, 4]), (50, [1, 2]), (34, [1, 2, 4, 8])])
def test_invalid_multi_grid_length(depth, mg):
    cfg = make_cfg(depth=depth, multi_grid=mg)
    _expect_value_error(cfg, "RES5_MULTI_GRID", str(mg), str(_num_res5_blocks(depth)))


def test_multi_grid_ignored_when_res5_not_built():
    cfg = make_cfg(depth=18, multi_grid=[1, 2, 4])
    cfg.MODEL.RESNETS.OUT_FEATURES = ["res2", "res4"]
    model = build(cfg)
    assert not hasattr(model, "res5")
    assert set(model.output_shape()) == {"res2", "res4"}


def test_invalid_misc():
    cfg = make_cfg(depth=18)
    cfg.MODEL.RESNETS.NUM_GROUPS = 32
    _expect_value_error(cfg, "NUM_GROUPS", "32")
    cfg = make_cfg()
    cfg.MODEL.RESNETS.OUT_FEATURES = ["res2", "res6"]
    _expect_value_error(cfg, "res6")


def test_basic_stem():
    model = build(make_cfg(depth=18, stem="basic"))
    assert type(model.stem).__name__ == "BasicStem"
    assert model.output_shape()["res2"].stride == 4


@pytest.mark.parametrize("depth", [18, 50])
def test_backward_finite_gradients(depth):
    torch.manual_seed(0)
    model = build(make_cfg(depth=depth, os_name="os8")).train()
    out = model(torch.randn(2, 3, H, W))
    sum((o**2).mean() for o in out.values()).backward()
    params = list(model.named_parameters())
    assert params and all(p.requires_grad for _, p in params)
    for name, p in params:
        assert p.grad is not None, name
        assert torch.isfinite(p.grad).all(), name


@pytest.mark.parametrize("depth", [18, 50])
def test_freeze_at_2(depth):
    torch.manual_seed(0)
    cfg = make_cfg(depth=depth, os_name="os16")
    cfg.MODEL.BACKBONE.FREEZE_AT = 2
    model = build(cfg).train()
    frozen = [p for m in (model.stem, model.res2) for p in m.parameters()]
    assert frozen and not any(p.requires_grad for p in frozen)
    # frozen stages also get FrozenBN, as in detectron2's ResNet.freeze
    assert not any(
        isinstance(m, nn.BatchNorm2d) for mod in (model.stem, model.res2) for m in mod.modules()
    )
    out = model(torch.randn(2, 3, H, W))
    sum(o.mean() for o in out.values()).backward()
    assert all(p.grad is None for p in frozen)
    for name in ("res3", "res4", "res5"):
        for p in getattr(model, name).parameters():
            assert p.requires_grad and p.grad is not None and torch.isfinite(p.grad).all()
