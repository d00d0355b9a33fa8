"""SegFormer: MiT sizes against the paper, the all-MLP head, the recipe's optimizer groups, a toy
training step (plain and with HL), and the converters of the NVlabs / mmseg checkpoints."""

import json
from collections import OrderedDict
from pathlib import Path

import pytest
import torch

from detectron2.modeling import META_ARCH_REGISTRY, build_model
from detectron2.utils.events import EventStorage

from hardseg.modeling.backbone import MIT_VARIANTS, MixVisionTransformer
from hardseg.modeling.backbone.mit import EfficientSelfAttention
from hardseg.modeling.heads import SegFormerHead
from hardseg.modeling.heads.segformer_head import SegFormerCACWeightBranch
from hardseg.solver import param_groups
from hardseg.weights import UnmatchedKeysError, convert_mit
from hardseg.weights.mapping import check_against
from tests.common import random_batch, tiny_cfg

FIXTURES = Path(__file__).parent / "fixtures"
TINY = "hardshapes/segformer_tiny_bs8_600it.yaml"
TINY_HL = "hardshapes/segformer_tiny_hl_bs8_600it.yaml"
TINY_CAC = "hardshapes/segformer_tiny_cac_bs8_600it.yaml"

# Xie et al., "SegFormer", NeurIPS 2021, Table 1 (ADE20K, 150 classes): encoder + decoder params.
PUBLISHED_M = {"b0": 3.8, "b1": 13.7, "b2": 27.5, "b3": 47.3, "b4": 64.1, "b5": 84.7}


def _segformer(variant, num_classes=150, **kw):
    backbone = MixVisionTransformer(**MIT_VARIANTS[variant], **kw)
    head = SegFormerHead(
        backbone.output_shape(),
        num_classes=num_classes,
        embed_dim=256 if variant in ("b0", "b1") else 768,
    )
    return backbone, head


@pytest.mark.parametrize("variant", sorted(PUBLISHED_M))
def test_parameter_counts_match_the_paper(variant):
    with torch.device("meta"):
        modules = _segformer(variant)
    n = sum(p.numel() for m in modules for p in m.parameters()) / 1e6
    assert abs(n - PUBLISHED_M[variant]) <= 0.02 * PUBLISHED_M[variant], n


def test_levels_strides_and_odd_sizes():
    bb = MixVisionTransformer(embed_dims=(8, 16, 24, 32), num_heads=(1, 2, 3, 4), depths=(1,) * 4)
    out = bb(torch.randn(2, 3, 70, 90))
    # each patch embedding rounds up: 70 -> 18 -> 9 -> 5 -> 3, 90 -> 23 -> 12 -> 6 -> 3
    assert {k: tuple(v.shape) for k, v in out.items()} == {
        "res2": (2, 8, 18, 23),
        "res3": (2, 16, 9, 12),
        "res4": (2, 24, 5, 6),
        "res5": (2, 32, 3, 3),
    }
    assert {k: s.stride for k, s in bb.output_shape().items()} == {
        "res2": 4,
        "res3": 8,
        "res4": 16,
        "res5": 32,
    }
    assert bb.size_divisibility == 32


def test_reduced_attention_matches_a_direct_computation():
    torch.manual_seed(0)
    attn = EfficientSelfAttention(dim=8, num_heads=2, sr_ratio=2).eval()
    x = torch.randn(1, 16, 8)  # a 4 x 4 token grid
    grid = x.transpose(1, 2).reshape(1, 8, 4, 4)
    reduced = attn.norm(attn.sr(grid).flatten(2).transpose(1, 2))  # (1, 4, 8): 2 x 2 tokens
    q = attn.q(x).reshape(1, 16, 2, 4)
    k, v = attn.kv(reduced).reshape(1, 4, 2, 2, 4).unbind(2)
    heads = []
    for h in range(2):
        w = torch.softmax(q[0, :, h] @ k[0, :, h].T / 2.0, dim=-1)  # 1 / sqrt(4)
        heads.append(w @ v[0, :, h])
    expected = attn.proj(torch.cat(heads, dim=-1))
    torch.testing.assert_close(attn(x, 4, 4)[0], expected, atol=1e-5, rtol=1e-5)


def test_optimizer_groups_follow_the_official_recipe():
    """BASE_LR 6e-4 with the backbone at x0.1 = lr 6e-5 and the head at x10 (official
    paramwise_cfg), no decay on LayerNorms / BatchNorms."""
    model = build_model(tiny_cfg(config=TINY))
    names = {id(p): n for n, p in model.named_parameters()}
    groups = param_groups(model, 6e-4, 0.01, backbone_multiplier=0.1)
    by_name = {names[id(g["params"][0])]: g for g in groups}
    assert by_name["backbone.block1.0.attn.q.weight"]["lr"] == pytest.approx(6e-5)
    assert by_name["backbone.block1.0.attn.q.weight"]["weight_decay"] == 0.01
    assert by_name["backbone.block1.0.norm1.weight"]["weight_decay"] == 0.0
    assert by_name["sem_seg_head.linear_c1.proj.weight"]["lr"] == pytest.approx(6e-4)
    assert by_name["sem_seg_head.linear_fuse.bn.weight"]["weight_decay"] == 0.0


@pytest.mark.parametrize("config", [TINY, TINY_HL])
def test_tiny_segformer_trains_and_infers(config):
    torch.manual_seed(0)
    model = build_model(tiny_cfg(config=config))
    model.train()
    with EventStorage():
        losses = model(random_batch(n=2, h=64, w=96, num_classes=7))
    assert ("loss_hardness" in losses) == (config == TINY_HL)
    sum(losses.values()).backward()
    grads = [p.grad for p in model.backbone.parameters() if p.grad is not None]
    assert grads and all(torch.isfinite(g).all() for g in grads)
    model.eval()
    with torch.no_grad():
        out = model(random_batch(n=1, h=70, w=90, with_labels=False))
    assert out[0]["sem_seg"].shape == (7, 70, 90)


def _fixture(name):
    data = json.loads((FIXTURES / name).read_text())
    return OrderedDict(
        (k, torch.full(shape, float(i)) if shape else torch.tensor(i))
        for i, (k, shape) in enumerate(data["keys"].items())
    )


def _segformer_b0(num_classes):
    cfg = tiny_cfg(
        "MODEL.BACKBONE.NAME", "build_mit_backbone", "MODEL.SEM_SEG_HEAD.NAME", "SegFormerHead",
        "MODEL.SEM_SEG_HEAD.IN_FEATURES", ["res2", "res3", "res4", "res5"],
        "MODEL.SEM_SEG_HEAD.CONVS_DIM", 256, "MODEL.SEM_SEG_HEAD.NORM", "BN",
        "MODEL.SEM_SEG_HEAD.NUM_CLASSES", num_classes, "MODEL.AUX_HEAD.NAME", "",
    )  # fmt: skip
    with torch.device("meta"):
        return META_ARCH_REGISTRY.get(cfg.MODEL.META_ARCHITECTURE)(cfg)


def test_nvlabs_segmentation_checkpoint_converts_strictly():
    """Key list and shapes written from NVlabs/SegFormer's mix_transformer.py + segformer_head.py
    (tests/modeling/fixtures/segformer_b0_nvlabs_ade_keys.json)."""
    official = _fixture("segformer_b0_nvlabs_ade_keys.json")
    converted, dropped = convert_mit(official)
    assert sorted(dropped) == ["decode_head.conv_seg.bias", "decode_head.conv_seg.weight"]
    check_against(converted, _segformer_b0(150))
    assert torch.equal(
        converted["sem_seg_head.predictor.weight"], official["decode_head.linear_pred.weight"]
    )
    assert torch.equal(
        converted["backbone.block3.1.mlp.fc2.bias"], official["backbone.block3.1.mlp.fc2.bias"]
    )


def test_nvlabs_imagenet_encoder_converts_and_drops_the_classifier():
    official = OrderedDict(
        (k[len("backbone.") :], v)
        for k, v in _fixture("segformer_b0_nvlabs_ade_keys.json").items()
        if k.startswith("backbone.")
    )
    official["head.weight"], official["head.bias"] = torch.zeros(1000, 256), torch.zeros(1000)
    converted, dropped = convert_mit(official)
    assert dropped == ["head.weight", "head.bias"]
    backbone = {k for k in _segformer_b0(19).state_dict() if k.startswith("backbone.")}
    assert set(converted) == backbone


def test_mmseg_mit_converts_with_split_attention_and_1x1_convs():
    official = _fixture("mit_b0_mmseg_keys.json")
    converted, _ = convert_mit(official)
    backbone = {
        k: v for k, v in _segformer_b0(19).state_dict().items() if k.startswith("backbone.")
    }
    assert set(converted) == set(backbone)
    assert all(converted[k].shape == v.shape for k, v in backbone.items())
    in_proj = official["layers.2.1.0.attn.attn.in_proj_weight"]  # (3 * 160, 160): [q; k; v]
    torch.testing.assert_close(converted["backbone.block3.0.attn.q.weight"], in_proj[:160])
    torch.testing.assert_close(converted["backbone.block3.0.attn.kv.weight"], in_proj[160:])


def test_unknown_keys_are_named():
    sd = _fixture("segformer_b0_nvlabs_ade_keys.json")
    sd["decode_head.extra_conv.weight"] = torch.zeros(1)
    with pytest.raises(UnmatchedKeysError, match="decode_head.extra_conv.weight"):
        convert_mit(sd)
    converted, _ = convert_mit(_fixture("segformer_b0_nvlabs_ade_keys.json"))
    del converted["backbone.norm4.weight"]
    with pytest.raises(UnmatchedKeysError, match="missing .*backbone.norm4.weight"):
        check_against(converted, _segformer_b0(150))


def test_command_line_converts_a_file(tmp_path):
    from tests.common import run_tool

    src = tmp_path / "segformer_b0.pth"
    torch.save({"state_dict": _fixture("segformer_b0_nvlabs_ade_keys.json")}, src)
    out = tmp_path / "converted.pth"
    config = "configs/ade20k/semantic-segmentation/segformer_B0_512_bs16_160k.yaml"
    run_tool(
        "convert_efficient_checkpoint.py", "mit", "--input", src, "--output", out,
        "--check-config", config,
    )  # fmt: skip
    assert "sem_seg_head.predictor.weight" in torch.load(out, weights_only=True)["model"]


def test_u2pl_trains_over_segformer():
    """U2PL's student and teacher as the toy SegFormer; the embedding head reads the all-MLP head's
    concatenated levels ("decoder_concat")."""
    cfg = tiny_cfg(
        "MODEL.BACKBONE.NAME", "build_mit_backbone",
        "MODEL.MIT.EMBED_DIMS", [8, 16, 24, 32], "MODEL.MIT.NUM_HEADS", [1, 2, 3, 4],
        "MODEL.MIT.DEPTHS", [1, 1, 1, 1],
        "MODEL.SEM_SEG_HEAD.NAME", "SegFormerHead",
        "MODEL.SEM_SEG_HEAD.IN_FEATURES", ["res2", "res3", "res4", "res5"],
        "MODEL.SEM_SEG_HEAD.CONVS_DIM", 16, "MODEL.SEM_SEG_HEAD.NORM", "BN",
        "MODEL.SEMISUP.SUP_ONLY_EPOCHS", 0,
        config="hardshapes/u2pl_deeplabv3plus_R18_instant_test_1-16.yaml",
    )  # fmt: skip
    model = build_model(cfg)
    assert model.student.rep_head[0].in_channels == 64  # 4 levels x 16
    model.train()
    batch = {
        "labeled": random_batch(2, 64, 64, seed=0, num_classes=7),
        "unlabeled": random_batch(2, 64, 64, seed=100, with_labels=False),
    }
    with EventStorage(0):
        losses = model(batch)
    assert {"loss_sem_seg", "loss_sem_seg_unsup", "loss_contrast"} <= set(losses)
    sum(losses.values()).backward()
    assert model.student.segmentor.backbone.block1[0].attn.q.weight.grad.abs().sum() > 0


def test_sliding_window_inference_covers_the_image():
    """The Cityscapes configs' TEST.MODE slide, at toy size: 48x48 windows at stride 32 over a
    70x90 image (padded to 96x96) give logits at the input size."""
    cfg = tiny_cfg(
        "TEST.MODE", "slide", "TEST.SLIDE.CROP_SIZE", (48, 48), "TEST.SLIDE.STRIDE", (32, 32),
        config=TINY,
    )  # fmt: skip
    model = build_model(cfg).eval()
    assert model.inference_config.mode == "slide"
    with torch.no_grad():
        out = model(random_batch(n=1, h=70, w=90, with_labels=False))
    assert out[0]["sem_seg"].shape == (7, 70, 90) and torch.isfinite(out[0]["sem_seg"]).all()


# ---- CAC (official CACSegformerHead semantics) and HL + CAC -------------------------------------
def _blocks(batch):
    """Labels in 16-pixel column blocks: every class has > 20 pixels at 1/4 (the threshold)."""
    for b in batch:
        h, w = b["sem_seg"].shape
        b["sem_seg"] = (torch.arange(w)[None, :] // 16 % 7).expand(h, w).clone()
    return batch


@pytest.mark.parametrize("hl", [False, True])
def test_cac_wraps_segformer_and_trains(hl):
    torch.manual_seed(0)
    opts = ["MODEL.CAC.HEAD_NAME", "HardnessHead", "MODEL.HARDNESS.ENABLED", "True",
            "MODEL.HARDNESS.HEAD_NAME", "SegFormerHead"]  # fmt: skip
    model = build_model(tiny_cfg(*(opts if hl else []), config=TINY_CAC))
    cac = model.sem_seg_head
    levels = [16, 32, 48, 64]  # the toy MiT's embed dims: X is their concat at 1/4
    assert cac.cac_input == "head_input" and cac.proj.conv.in_channels == sum(levels)
    assert isinstance(cac.weight_branch, SegFormerCACWeightBranch)
    assert [c.conv.in_channels for c in cac.weight_branch.convs] == levels
    model.train()
    with EventStorage():
        losses = model(_blocks(random_batch(n=2, h=64, w=96, num_classes=7)))
    expected = {"loss_sem_seg", "loss_sem_seg_weight", "loss_cac"} | (
        {"loss_hardness"} if hl else set()
    )
    assert set(losses) == expected
    assert all(torch.isfinite(v) for v in losses.values()) and losses["loss_cac"] > 0
    sum(losses.values()).backward()
    # the weight branch reads detached levels: the backbone's gradient is the same without it
    assert all(p.grad is not None for p in cac.weight_branch.parameters())
    assert cac.proj.conv.weight.grad.abs().sum() > 0


def test_cac_weight_branch_is_detached_from_the_backbone():
    torch.manual_seed(0)
    model = build_model(tiny_cfg(config=TINY_CAC))
    model.train()
    batch = _blocks(random_batch(n=2, h=64, w=64, num_classes=7))
    with EventStorage():
        losses = model(batch)
    losses["loss_sem_seg_weight"].backward()
    assert all(p.grad is None or not p.grad.any() for p in model.backbone.parameters())
    assert model.sem_seg_head.weight_branch.classifier.weight.grad.abs().sum() > 0


def test_cac_segformer_eval_runs_only_the_wrapped_head():
    torch.manual_seed(0)
    model = build_model(tiny_cfg(config=TINY_CAC))
    plain = build_model(tiny_cfg(config=TINY))
    own = ("sem_seg_head.proj.", "sem_seg_head.weight_branch.")
    plain.load_state_dict({k: v for k, v in model.state_dict().items() if not k.startswith(own)})
    calls = []
    for name in ("proj", "weight_branch"):
        getattr(model.sem_seg_head, name).register_forward_hook(lambda *a, n=name: calls.append(n))
    model.eval(), plain.eval()
    batch = random_batch(n=1, h=70, w=90, with_labels=False)
    with torch.no_grad():
        out, ref = model(batch), plain(batch)
    assert calls == [] and out[0]["sem_seg"].shape == (7, 70, 90)
    torch.testing.assert_close(out[0]["sem_seg"], ref[0]["sem_seg"])
