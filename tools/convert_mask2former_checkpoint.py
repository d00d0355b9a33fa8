#!/usr/bin/env python
"""Convert an official Mask2Former checkpoint (facebookresearch/Mask2Former, semantic
segmentation, ResNet backbone: the released ``model_final_*.pkl``) into a HardSeg
``HardMaskFormer`` checkpoint for ``--eval-only`` / fine-tuning.

    python tools/convert_mask2former_checkpoint.py model_final_cc1b1f.pkl \
        output/maskformer2_R50_cityscapes_hardseg.pth \
        --check-config configs/cityscapes/semantic-segmentation/maskformer2_R50_bs16_90k.yaml

Key mapping (official module names -> HardSeg; see docs/methods/mask2former.md §5):

====================================================================  ==========================================
official (``sem_seg_head.`` prefix omitted)                           HardSeg
====================================================================  ==========================================
pixel_decoder.transformer.level_embed                                 pixel_decoder.level_embed
pixel_decoder.transformer.encoder.layers.{i}.*                        pixel_decoder.encoder.{i}.*
pixel_decoder.adapter_{k}.* (k = 1 finest FPN level)                  pixel_decoder.lateral_convs.{F-k}.*
pixel_decoder.layer_{k}.*                                             pixel_decoder.output_convs.{F-k}.*
pixel_decoder.{input_proj,mask_features}.*                            unchanged
predictor.transformer_self_attention_layers.{i}.self_attn.*           predictor.self_attention.{i}.attn.*
predictor.transformer_self_attention_layers.{i}.norm.*                predictor.self_attention.{i}.norm.*
predictor.transformer_cross_attention_layers.{i}.multihead_attn.*     predictor.cross_attention.{i}.attn.*
predictor.transformer_cross_attention_layers.{i}.norm.*               predictor.cross_attention.{i}.norm.*
predictor.transformer_ffn_layers.{i}.*                                predictor.ffn.{i}.*
predictor.{decoder_norm,query_feat,query_embed,level_embed,...}       unchanged
backbone.* (detectron2 ResNet)                                        unchanged
criterion.empty_weight                                                dropped (HardSeg rebuilds it from
                                                                      MODEL.MASK_FORMER.NO_OBJECT_WEIGHT)
====================================================================  ==========================================

F is the number of extra FPN levels (adapter_* modules) in the file. Numpy arrays (the .pkl
releases) become tensors. The file is read by hardseg.checkpoint's safe loader (no code from it
runs). ``--check-config`` builds the config's model on CPU and loads the result with
``strict=True``.
"""

import argparse
import re
from collections import OrderedDict

import numpy as np
import torch

from hardseg.checkpoint import CheckpointLoadError, atomic_write, load_checkpoint_file

__all__ = ["convert", "convert_key", "main"]

PD = "sem_seg_head.pixel_decoder."
PR = "sem_seg_head.predictor."
DROPPED = ("criterion.empty_weight",)

# (official pattern, HardSeg replacement), applied to the key after the prefix
_PIXEL_DECODER_RULES = [
    (r"^transformer\.level_embed$", "level_embed"),
    (r"^transformer\.encoder\.layers\.(\d+)\.", r"encoder.\1."),
]
_PREDICTOR_RULES = [
    (r"^transformer_self_attention_layers\.(\d+)\.self_attn\.", r"self_attention.\1.attn."),
    (r"^transformer_self_attention_layers\.(\d+)\.", r"self_attention.\1."),
    (r"^transformer_cross_attention_layers\.(\d+)\.multihead_attn\.", r"cross_attention.\1.attn."),
    (r"^transformer_cross_attention_layers\.(\d+)\.", r"cross_attention.\1."),
    (r"^transformer_ffn_layers\.(\d+)\.", r"ffn.\1."),
]


def _apply(rules, rest: str) -> str:
    for pattern, repl in rules:
        new, n = re.subn(pattern, repl, rest)
        if n:
            return new
    return rest


def convert_key(key: str, num_fpn_levels: int):
    """The HardSeg name of one official key, or None for a key HardSeg does not store."""
    if key in DROPPED:
        return None
    if key.startswith(PD):
        rest = key[len(PD) :]
        m = re.match(r"^(adapter|layer)_(\d+)\.(.*)$", rest)
        if m:
            k = int(m.group(2))
            if not 1 <= k <= num_fpn_levels:
                raise ValueError(f"{key}: FPN level {k} outside 1..{num_fpn_levels}")
            name = "lateral_convs" if m.group(1) == "adapter" else "output_convs"
            return f"{PD}{name}.{num_fpn_levels - k}.{m.group(3)}"
        return PD + _apply(_PIXEL_DECODER_RULES, rest)
    if key.startswith(PR):
        return PR + _apply(_PREDICTOR_RULES, key[len(PR) :])
    return key


def convert(state_dict):
    """Official Mask2Former state dict -> (HardSeg state dict of tensors, dropped keys). Two keys
    never map to one."""
    fpn = {int(m.group(1)) for k in state_dict if (m := re.match(rf"^{PD}adapter_(\d+)\.", k))}
    num_fpn_levels = max(fpn, default=0)
    out, dropped = OrderedDict(), []
    for key, value in state_dict.items():
        new = convert_key(key, num_fpn_levels)
        if new is None:
            dropped.append(key)
            continue
        if new in out:
            raise ValueError(f"two official keys map to {new!r} (the second is {key!r})")
        if isinstance(value, np.ndarray):
            value = torch.from_numpy(np.ascontiguousarray(value))
        if not isinstance(value, torch.Tensor):
            raise ValueError(f"{key}: a {type(value).__name__}, expected a tensor or array")
        out[new] = value
    return out, dropped


def _load_official(path):
    """The model state dict of an official checkpoint (.pkl ``{"model": {name: ndarray}}`` or a
    .pth), read by hardseg.checkpoint's safe loader."""
    ckpt = load_checkpoint_file(path)
    if not isinstance(ckpt, dict):
        raise CheckpointLoadError(f"{path}: holds a {type(ckpt).__name__}; expected a dict.")
    return ckpt.get("model", ckpt)


def check_strict(state_dict, config_file):
    """Build ``config_file``'s model on CPU and load ``state_dict`` with strict=True."""
    from detectron2.modeling import build_model

    from hardseg.engine import setup_cfg

    cfg = setup_cfg(config_file, ["MODEL.DEVICE", "cpu"])
    model = build_model(cfg)
    model.load_state_dict(state_dict, strict=True)
    return sum(v.numel() for v in state_dict.values())


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("input", help="official Mask2Former checkpoint (.pkl or .pth)")
    parser.add_argument("output", help="HardSeg checkpoint to write (.pth)")
    parser.add_argument("--check-config", help="a config whose model must load the result strictly")
    args = parser.parse_args(argv)
    converted, dropped = convert(_load_official(args.input))
    data = {"model": converted, "__author__": "Mask2Former, converted by HardSeg"}
    atomic_write(args.output, lambda f: torch.save(data, f))
    print(f"converted {len(converted)} tensors, dropped {dropped}; wrote {args.output}")
    if args.check_config:
        n = check_strict(converted, args.check_config)
        print(f"{args.check_config}: strict load OK ({n / 1e6:.2f} M values)")


if __name__ == "__main__":
    main()
