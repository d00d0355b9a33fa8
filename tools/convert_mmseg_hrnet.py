#!/usr/bin/env python
"""Convert an mmsegmentation 0.x HRNetV2 checkpoint -- FCN-HR, OCRNet-HR, their CAC versions
(CVIU-CSU/Confidence-Aware-Contrastive-Loss) -- or the ImageNet HRNetV2 weights in mmcv's layout
(``open-mmlab://msra/hrnetv2_w48``) into a HardSeg checkpoint.

    python tools/convert_mmseg_hrnet.py cac_fcn_hr48.pth out.pth \
        --check-config configs/cityscapes/semantic-segmentation/fcn_hr48_512x1024_cac_bs8_40k.yaml

HardSeg's HRNet keeps mmseg's module names, so the backbone maps one to one. Heads (docs/methods/
cac.md §6):

===============================================  ==================================================
mmseg                                            HardSeg
===============================================  ==================================================
backbone.*  (ImageNet file: no prefix)           backbone.*  (ImageNet classifier parts dropped:
                                                 incre_modules, downsamp_modules, final_layer,
                                                 classifier)
decode_head.X  (FCN)                             sem_seg_head.X
decode_head.0.X / decode_head.1.X  (OCRNet)      sem_seg_head.stage1.X / sem_seg_head.stage2.X
...conv_seg.{weight,bias}                        ...predictor.{weight,bias}
decode_head[.1].proj.0.conv.weight / .0.bn.*     sem_seg_head.proj.conv.weight / .conv.norm.*
decode_head[.1].proj.1.module.conv.*             sem_seg_head.proj.residual.*
decode_head.weight_branch.0.conv.weight/.0.bn.*  sem_seg_head.weight_branch.conv.weight/.conv.norm.*
decode_head.weight_branch.1.conv.*               sem_seg_head.weight_branch.classifier.*
decode_head.1.weight_branch.X  (a whole OCRHead) sem_seg_head.weight_branch.stage.X
===============================================  ==================================================

Every key must map (unknown keys are an error naming them). ``--drop-cac`` removes the CAC
projection head and weight branch, for a plain model. ``--check-config`` builds the config's model
on the meta device and loads the result strictly (a clear error lists unmatched keys).
"""

import argparse
import re
import sys
from collections import OrderedDict

import torch

from hardseg.checkpoint import CheckpointLoadError, atomic_write, load_checkpoint_file

IMAGENET_ONLY = ("incre_modules.", "downsamp_modules.", "final_layer.", "classifier.")
_CAC = ("proj.", "weight_branch.")

_HEAD_RULES = [
    (r"^conv_seg\.(weight|bias)$", r"predictor.\1"),
    (r"^proj\.0\.conv\.weight$", "proj.conv.weight"),
    (r"^proj\.0\.bn\.(.+)$", r"proj.conv.norm.\1"),
    (r"^proj\.1\.module\.conv\.(weight|bias)$", r"proj.residual.\1"),
    (r"^weight_branch\.0\.conv\.weight$", "weight_branch.conv.weight"),
    (r"^weight_branch\.0\.bn\.(.+)$", r"weight_branch.conv.norm.\1"),
    (r"^weight_branch\.1\.conv\.(weight|bias)$", r"weight_branch.classifier.\1"),
]


def _head_key(rest: str, ocr_stage2: bool) -> str:
    """A head key without its ``decode_head[.i].`` prefix -> the HardSeg name below
    ``sem_seg_head.``."""
    if ocr_stage2 and rest.startswith("weight_branch."):
        inner = rest[len("weight_branch.") :]
        return "weight_branch.stage." + re.sub(r"^conv_seg\.", "predictor.", inner)
    new = rest
    for pattern, repl in _HEAD_RULES:
        if re.match(pattern, rest):
            new = re.sub(pattern, repl, rest)
            break
    if ocr_stage2 and not new.startswith(_CAC):
        return "stage2." + new
    return new


def convert(state_dict, drop_cac: bool = False):
    """mmseg / mmcv HRNet ``state_dict`` -> (HardSeg state dict, list of dropped keys).

    Raises:
        KeyError: keys that match no rule, or two keys mapping to one name.
    """
    imagenet = not any(k.startswith(("backbone.", "decode_head.")) for k in state_dict)
    out, dropped, unknown = OrderedDict(), [], []
    for key, value in state_dict.items():
        if imagenet:
            if key.startswith(IMAGENET_ONLY):
                dropped.append(key)
                continue
            key = "backbone." + key
        new = None
        if key.startswith("backbone."):
            new = key
        elif m := re.match(r"^decode_head\.(?:(\d)\.)?(.+)$", key):
            stage, rest = m.group(1), m.group(2)
            if drop_cac and rest.startswith(_CAC):
                dropped.append(key)
                continue
            if stage is None:
                new = "sem_seg_head." + _head_key(rest, ocr_stage2=False)
            elif stage == "0":
                new = "sem_seg_head.stage1." + _head_key(rest, ocr_stage2=False)
            elif stage == "1":
                new = "sem_seg_head." + _head_key(rest, ocr_stage2=True)
        if new is None:
            unknown.append(key)
            continue
        if new in out:
            raise KeyError(f"two mmseg keys map to {new!r} (the second is {key!r}).")
        out[new] = value
    if unknown:
        raise KeyError(
            f"{len(unknown)} keys have no HardSeg counterpart (supported: HRNetV2 backbones, FCN "
            f"and OCR heads, their CAC parts), e.g. {unknown[:8]}"
        )
    return out, dropped


def _load(path):
    """The state dict of a checkpoint, read through hardseg.checkpoint's safe loader."""
    ckpt = load_checkpoint_file(path)
    if not isinstance(ckpt, dict):
        raise CheckpointLoadError(f"{path}: holds a {type(ckpt).__name__}; expected a dict.")
    return ckpt.get("state_dict", ckpt)


def check_strict(state_dict, config_file):
    """Build ``config_file``'s model on the meta device and load ``state_dict`` strictly.

    Raises:
        KeyError: naming the missing and unexpected keys.
    """
    sys.path.insert(0, __file__.rsplit("/tools/", 1)[0])
    from detectron2.modeling import META_ARCH_REGISTRY

    from hardseg.engine import setup_cfg

    cfg = setup_cfg(config_file, ["MODEL.DEVICE", "cpu"])
    with torch.device("meta"):
        model = META_ARCH_REGISTRY.get(cfg.MODEL.META_ARCHITECTURE)(cfg)
    theirs, ours = set(state_dict), set(model.state_dict())
    if theirs != ours:
        raise KeyError(
            f"{config_file}: the converted weights do not match the model: missing "
            f"{sorted(ours - theirs)[:8]} ({len(ours - theirs)}), unexpected "
            f"{sorted(theirs - ours)[:8]} ({len(theirs - ours)}); use --drop-cac for a plain "
            "model, or a config of the same architecture."
        )
    model.load_state_dict(state_dict, strict=True, assign=True)
    return sum(v.numel() for v in state_dict.values())


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("input", help="mmseg checkpoint or mmcv ImageNet HRNetV2 weights (.pth)")
    parser.add_argument("output", help="HardSeg checkpoint to write (.pth)")
    parser.add_argument("--drop-cac", action="store_true", help="drop proj.* and weight_branch.*")
    parser.add_argument("--check-config", help="a config whose model must load the result strictly")
    args = parser.parse_args(argv)
    converted, dropped = convert(_load(args.input), args.drop_cac)
    data = {"model": converted, "__author__": "mmseg, converted by HardSeg"}
    atomic_write(args.output, lambda f: torch.save(data, f))
    print(f"converted {len(converted)} tensors, dropped {len(dropped)}; wrote {args.output}")
    if args.check_config:
        n = check_strict(converted, args.check_config)
        print(f"{args.check_config}: strict load OK ({n / 1e6:.2f} M values)")


if __name__ == "__main__":
    main()
