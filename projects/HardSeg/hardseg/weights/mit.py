"""MiT / SegFormer checkpoints -> HardSeg (``MixVisionTransformer`` + ``SegFormerHead``).

Three sources are recognised by their keys:

* NVlabs/SegFormer ImageNet encoders (``mit_b0.pth`` ... ``mit_b5.pth``): keys ``patch_embed1.*``,
  ``block1.0.*``, ``norm1.*``, ... (HardSeg's names) and the ImageNet classifier ``head.*``,
  which is dropped. Output keys get the ``backbone.`` prefix.
* NVlabs/SegFormer segmentation models (``segformer.b0.512x512.ade.160k.pth`` ...): a
  ``state_dict`` with ``backbone.*`` (kept), ``decode_head.linear_c{1..4}.proj.*``,
  ``decode_head.linear_fuse.{conv,bn}.*``, ``decode_head.linear_pred.*`` (-> ``predictor``) and
  the unused ``decode_head.conv_seg.*`` of mmseg's BaseDecodeHead (dropped).
* mmsegmentation's port (``mmseg/models/backbones/mit.py``, ImageNet files converted by its
  ``tools/model_converters/mit2mmseg.py``): ``layers.{i}.0`` the patch embedding
  (``projection``), ``layers.{i}.1.{j}`` the blocks with ``attn.attn`` an ``nn.MultiheadAttention``
  (its ``in_proj`` is split into ``q`` and ``kv``) and ``ffn.layers.{0,1,4}`` 1x1/3x3 convs
  (the 1x1 ones become Linear weights), ``layers.{i}.2`` the stage norm; with or without the
  ``backbone.`` prefix. mmseg's SegFormer head (1x1 ConvModules) differs from the official one
  and is not converted.
"""

from typing import Dict, List, Tuple

import torch

from .mapping import apply_rules

_NV_BACKBONE = r"(patch_embed[1-4]|block[1-4]\.\d+|norm[1-4])\..+"


def _split_in_proj(m, value: torch.Tensor) -> Dict[str, torch.Tensor]:
    """nn.MultiheadAttention's stacked [q; k; v] projection -> HardSeg's ``q`` and ``kv``."""
    prefix, stage, block, kind = m.group(1), int(m.group(2)) + 1, m.group(3), m.group(4)
    c = value.shape[0] // 3
    base = f"{prefix}block{stage}.{block}.attn"
    return {f"{base}.q.{kind}": value[:c], f"{base}.kv.{kind}": value[c:]}


def _linear_from_1x1(m, value: torch.Tensor) -> Dict[str, torch.Tensor]:
    prefix, stage, block, layer, kind = m.groups()
    name = {"0": "fc1", "4": "fc2"}[layer]
    if kind == "weight":
        value = value.flatten(1)
    return {f"{prefix}block{int(stage) + 1}.{block}.mlp.{name}.{kind}": value}


def _stage(m, tail: str) -> str:
    return f"{m.group(1)}{tail.format(int(m.group(2)) + 1)}"


def _mmseg_rules(prefix: str) -> List[Tuple[str, object]]:
    p = prefix.replace(".", r"\.")
    g = rf"({p})layers\.(\d)"  # group 1 = prefix, group 2 = stage index
    blk = g + r"\.1\.(\d+)"
    return [
        (
            g + r"\.0\.projection\.(weight|bias)",
            lambda m, v: {_stage(m, "patch_embed{}.proj.") + m.group(3): v},
        ),
        (
            g + r"\.0\.norm\.(weight|bias)",
            lambda m, v: {_stage(m, "patch_embed{}.norm.") + m.group(3): v},
        ),
        (g + r"\.2\.(weight|bias)", lambda m, v: {_stage(m, "norm{}.") + m.group(3): v}),
        (blk + r"\.attn\.attn\.in_proj_(weight|bias)", _split_in_proj),
        (
            blk + r"\.attn\.attn\.out_proj\.(weight|bias)",
            lambda m, v: {
                f"{m.group(1)}block{int(m.group(2)) + 1}.{m.group(3)}.attn.proj.{m.group(4)}": v
            },
        ),
        (
            blk + r"\.attn\.(sr|norm)\.(weight|bias)",
            lambda m, v: {
                f"{m.group(1)}block{int(m.group(2)) + 1}.{m.group(3)}.attn.{m.group(4)}.{m.group(5)}": v
            },
        ),
        (
            blk + r"\.(norm1|norm2)\.(weight|bias)",
            lambda m, v: {
                f"{m.group(1)}block{int(m.group(2)) + 1}.{m.group(3)}.{m.group(4)}.{m.group(5)}": v
            },
        ),
        (blk + r"\.ffn\.layers\.([04])\.(weight|bias)", _linear_from_1x1),
        (
            blk + r"\.ffn\.layers\.1\.(weight|bias)",
            lambda m, v: {
                f"{m.group(1)}block{int(m.group(2)) + 1}.{m.group(3)}.mlp.dwconv.dwconv.{m.group(4)}": v
            },
        ),
    ]


def convert_mit(state_dict: Dict[str, torch.Tensor]):
    """Official or mmseg MiT / SegFormer weights -> (HardSeg state dict, dropped source keys).

    Raises:
        UnmatchedKeysError: naming every key that is not one of the recognised releases'.
    """
    if any(k.startswith(("layers.", "backbone.layers.")) for k in state_dict):
        prefix = "backbone." if any(k.startswith("backbone.") for k in state_dict) else ""
        out, dropped = apply_rules(state_dict, _mmseg_rules(prefix), "mmseg's MiT (mit.py)")
        if not prefix:
            out = type(out)((f"backbone.{k}", v) for k, v in out.items())
        return out, dropped
    if any(k.startswith("backbone.") for k in state_dict):  # NVlabs segmentation model
        rules = [
            (r"backbone\." + _NV_BACKBONE, r"\g<0>"),
            (r"decode_head\.(linear_c[1-4]\.proj\.(weight|bias))", r"sem_seg_head.\1"),
            (r"decode_head\.(linear_fuse\.(conv|bn)\..+)", r"sem_seg_head.\1"),
            (r"decode_head\.linear_pred\.(weight|bias)", r"sem_seg_head.predictor.\1"),
            (r"decode_head\.conv_seg\.(weight|bias)", None),
        ]
        return apply_rules(state_dict, rules, "an NVlabs/SegFormer segmentation checkpoint")
    rules = [(_NV_BACKBONE, r"backbone.\g<0>"), (r"head\.(weight|bias)", None)]
    return apply_rules(state_dict, rules, "an NVlabs/SegFormer ImageNet MiT checkpoint")
