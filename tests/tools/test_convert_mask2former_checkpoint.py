"""tools/convert_mask2former_checkpoint.py on state dicts whose key names and shapes are generated
from the official module definitions (facebookresearch/Mask2Former @161be51:
``mask2former/modeling/pixel_decoder/msdeformattn.py`` (``MSDeformAttnPixelDecoder``,
``MSDeformAttnTransformerEncoderOnly``/``...EncoderLayer``, ``ops/modules/ms_deform_attn.py``),
``mask2former/modeling/transformer_decoder/mask2former_transformer_decoder.py``
(``MultiScaleMaskedTransformerDecoder``, ``SelfAttentionLayer``, ``CrossAttentionLayer``,
``FFNLayer``, ``MLP``) and ``mask2former/modeling/criterion.py`` (``empty_weight`` buffer))."""

import pickle

import numpy as np
import pytest
import torch

from detectron2.modeling import META_ARCH_REGISTRY

from tests.common import REPO, random_batch, tiny_cfg

R50 = "cityscapes/semantic-segmentation/maskformer2_R50_bs16_90k.yaml"
TINY = "quick_schedules/maskformer2_R18_instant_test.yaml"
PD, PR = "sem_seg_head.pixel_decoder.", "sem_seg_head.predictor."


def official_head_keys(cfg, channels):
    """[(official key, shape, HardSeg key)] of the pixel decoder, predictor and criterion of the
    official model built from ``cfg``; ``channels``: backbone channels per feature name. The
    HardSeg names are paired by hand, module by module."""
    h, t = cfg.MODEL.SEM_SEG_HEAD, cfg.MODEL.MASK_FORMER
    d, mask_dim = h.CONVS_DIM, h.MASK_DIM
    feats = sorted(h.IN_FEATURES, key=lambda f: int(f[3:]))  # res2 .. res5, fine first
    trans = [f for f in feats if f in h.DEFORMABLE_TRANSFORMER_ENCODER_IN_FEATURES]
    n_fpn = feats.index(trans[0])  # log2(min transformer stride) - log2(common stride 4)
    levels, heads = len(trans), h.DEFORMABLE_TRANSFORMER_ENCODER_N_HEADS
    points = h.DEFORMABLE_TRANSFORMER_ENCODER_N_POINTS
    ffn_enc = h.DEFORMABLE_TRANSFORMER_ENCODER_DIM_FEEDFORWARD
    out = []

    def add(official, shape, ours=None):
        out.append((official, tuple(shape), ours if ours is not None else official))

    # MSDeformAttnPixelDecoder: input_proj coarse -> fine, Conv2d(1x1, bias) + GroupNorm
    for j, f in enumerate(reversed(trans)):
        add(f"{PD}input_proj.{j}.0.weight", (d, channels[f], 1, 1))
        add(f"{PD}input_proj.{j}.0.bias", (d,))
        add(f"{PD}input_proj.{j}.1.weight", (d,))
        add(f"{PD}input_proj.{j}.1.bias", (d,))
    # transformer = MSDeformAttnTransformerEncoderOnly: encoder.layers (_get_clones), level_embed
    for i in range(h.TRANSFORMER_ENC_LAYERS):
        o, s = f"{PD}transformer.encoder.layers.{i}.", f"{PD}encoder.{i}."
        for name, rows in (
            ("self_attn.sampling_offsets", heads * levels * points * 2),
            ("self_attn.attention_weights", heads * levels * points),
            ("self_attn.value_proj", d),
            ("self_attn.output_proj", d),
            ("norm1", None),
            ("linear1", ffn_enc),
            ("linear2", d),
            ("norm2", None),
        ):
            cols = ffn_enc if name == "linear2" else d
            add(o + name + ".weight", (d,) if rows is None else (rows, cols), s + name + ".weight")
            add(o + name + ".bias", (d if rows is None else rows,), s + name + ".bias")
    add(f"{PD}transformer.level_embed", (levels, d), f"{PD}level_embed")
    add(f"{PD}mask_features.weight", (mask_dim, d, 1, 1))
    add(f"{PD}mask_features.bias", (mask_dim,))
    # adapter_{k} / layer_{k}: k = 1 the finest level; HardSeg's lists run coarse -> fine
    for idx, f in enumerate(feats[:n_fpn]):
        k, ours = idx + 1, n_fpn - 1 - idx
        add(f"{PD}adapter_{k}.weight", (d, channels[f], 1, 1), f"{PD}lateral_convs.{ours}.weight")
        add(f"{PD}layer_{k}.weight", (d, d, 3, 3), f"{PD}output_convs.{ours}.weight")
        for o, s in (("adapter", "lateral_convs"), ("layer", "output_convs")):
            for p in ("weight", "bias"):
                add(f"{PD}{o}_{k}.norm.{p}", (d,), f"{PD}{s}.{ours}.norm.{p}")
    # MultiScaleMaskedTransformerDecoder (num_layers = DEC_LAYERS - 1)
    hid, ffn, q, k_cls = t.HIDDEN_DIM, t.DIM_FEEDFORWARD, t.NUM_OBJECT_QUERIES, h.NUM_CLASSES
    for i in range(t.DEC_LAYERS - 1):
        for layer, attn, ours in (
            ("transformer_self_attention_layers", "self_attn", "self_attention"),
            ("transformer_cross_attention_layers", "multihead_attn", "cross_attention"),
        ):
            o, s = f"{PR}{layer}.{i}.", f"{PR}{ours}.{i}."
            add(o + attn + ".in_proj_weight", (3 * hid, hid), s + "attn.in_proj_weight")
            add(o + attn + ".in_proj_bias", (3 * hid,), s + "attn.in_proj_bias")
            add(o + attn + ".out_proj.weight", (hid, hid), s + "attn.out_proj.weight")
            add(o + attn + ".out_proj.bias", (hid,), s + "attn.out_proj.bias")
            add(o + "norm.weight", (hid,), s + "norm.weight")
            add(o + "norm.bias", (hid,), s + "norm.bias")
        o, s = f"{PR}transformer_ffn_layers.{i}.", f"{PR}ffn.{i}."
        for name, shape in (("linear1", (ffn, hid)), ("linear2", (hid, ffn)), ("norm", (hid,))):
            add(o + name + ".weight", shape, s + name + ".weight")
            add(o + name + ".bias", shape[:1], s + name + ".bias")
    add(f"{PR}decoder_norm.weight", (hid,))
    add(f"{PR}decoder_norm.bias", (hid,))
    add(f"{PR}query_feat.weight", (q, hid))
    add(f"{PR}query_embed.weight", (q, hid))
    add(f"{PR}level_embed.weight", (3, hid))
    if d != hid:  # input_proj: Conv2d 1x1 where the channels differ, else an empty Sequential
        for lvl in range(3):
            add(f"{PR}input_proj.{lvl}.weight", (hid, d, 1, 1))
            add(f"{PR}input_proj.{lvl}.bias", (hid,))
    add(f"{PR}class_embed.weight", (k_cls + 1, hid))
    add(f"{PR}class_embed.bias", (k_cls + 1,))
    for j, rows in enumerate((hid, hid, mask_dim)):
        add(f"{PR}mask_embed.layers.{j}.weight", (rows, hid))
        add(f"{PR}mask_embed.layers.{j}.bias", (rows,))
    out.append(("criterion.empty_weight", (k_cls + 1,), None))  # SetCriterion's buffer
    return out


def _tool():
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "convert_mask2former_checkpoint", REPO / "tools/convert_mask2former_checkpoint.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _build(cfg, device=None):
    if device is not None:
        with torch.device(device):
            return META_ARCH_REGISTRY.get(cfg.MODEL.META_ARCHITECTURE)(cfg)
    return META_ARCH_REGISTRY.get(cfg.MODEL.META_ARCHITECTURE)(cfg)


def _channels(model):
    return {k: v.channels for k, v in model.backbone.output_shape().items()}


def test_r50_official_keys_convert_to_the_hardseg_model_keys():
    """Full size (R50 Cityscapes recipe, on the meta device): the converted names and shapes are
    exactly the model's; 103 of 117 pixel-decoder and 162 of 175 predictor keys are renamed."""
    cfg = tiny_cfg(config=R50)
    model = _build(cfg, "meta")
    table = official_head_keys(cfg, _channels(model))
    tool = _tool()
    ours = {k: tuple(v.shape) for k, v in model.state_dict().items() if k.startswith("sem_seg")}
    official = {o: shape for o, shape, _ in table if o.startswith("sem_seg")}
    assert len(official) == len(ours) == 117 + 175
    fpn = sum(o.startswith(f"{PD}adapter_") for o in official) // 3
    converted = {tool.convert_key(o, fpn): shape for o, shape in official.items()}
    assert converted == ours
    for o, _, s in table[:-1]:
        assert tool.convert_key(o, fpn) == s
    renamed = [o for o, _, s in table if s is not None and o != s]
    assert sum(o.startswith(PD) for o in renamed) == 103
    assert sum(o.startswith(PR) for o in renamed) == 162
    assert tool.convert_key("criterion.empty_weight", fpn) is None


def test_official_checkpoint_loads_strictly_and_gives_the_same_outputs(tmp_path):
    """A tiny model's weights written under the official names (pairs of ``official_head_keys``;
    detectron2 ResNet keys are shared), saved as the released .pkl form ({"model": numpy}),
    converted by the tool, loaded strictly into a differently initialised model: same outputs,
    and ``criterion.empty_weight`` is not an unexpected key."""
    cfg = tiny_cfg(config=TINY)
    torch.manual_seed(0)
    source = _build(cfg).eval()
    sd = source.state_dict()
    table = official_head_keys(cfg, _channels(source))
    official = {k: v.numpy() for k, v in sd.items() if k.startswith("backbone.")}
    for o, shape, s in table:
        value = sd[s] if s is not None else torch.ones(shape)
        assert tuple(value.shape) == shape, o
        official[o] = value.numpy()
    assert {s for _, _, s in table if s} | {k for k in sd if k.startswith("backbone.")} == set(sd)
    src = tmp_path / "model_final.pkl"
    with open(src, "wb") as f:
        pickle.dump({"model": official, "__author__": "official"}, f)
    out = tmp_path / "converted.pth"
    tool = _tool()
    tool.main([str(src), str(out)])
    converted = torch.load(out, weights_only=True)["model"]
    torch.manual_seed(1)
    target = _build(cfg).eval()
    result = target.load_state_dict(converted, strict=True)
    assert not result.missing_keys and not result.unexpected_keys
    batch = random_batch(n=1, h=64, w=64, with_labels=False)
    with torch.no_grad():
        a = source(batch)[0]["sem_seg"]
        b = target(batch)[0]["sem_seg"]
    assert torch.equal(a, b)


def test_detectron2_loader_reports_empty_weight_without_the_tool(tmp_path):
    """Today's behaviour the tool fixes: loading the official names directly leaves the head's
    renamed keys missing and ``criterion.empty_weight`` unexpected."""
    cfg = tiny_cfg(config=TINY)
    model = _build(cfg)
    table = official_head_keys(cfg, _channels(model))
    sd = {o: torch.zeros(shape) for o, shape, _ in table}
    result = model.load_state_dict(sd, strict=False)
    assert "criterion.empty_weight" in result.unexpected_keys
    assert f"{PD}encoder.0.linear1.weight" in result.missing_keys
    converted, dropped = _tool().convert(sd)
    assert dropped == ["criterion.empty_weight"]
    result = model.load_state_dict(converted, strict=False)
    assert not result.unexpected_keys
    assert all(k.startswith("backbone.") for k in result.missing_keys)


def test_two_keys_never_map_to_one():
    tool = _tool()
    with pytest.raises(ValueError, match="map to"):
        tool.convert({f"{PD}transformer.level_embed": np.zeros(2), f"{PD}level_embed": np.zeros(2)})
