#!/usr/bin/env python
"""Convert an mmsegmentation (0.x) checkpoint of a ResNet-V1c PSPNet / DeepLabV3+ / FCN model --
including the official HL release (Menoly-xin/Hardness-Level-Learning, e.g. PSPNet-R101-D8
769x769 + HL) -- into a HardSeg checkpoint for ``--eval-only`` / fine-tuning.

    python tools/convert_mmseg_checkpoint.py pspnet_r101_hl.pth output/pspnet_r101_hl_hardseg.pth \
        --check-config configs/cityscapes/semantic-segmentation/pspnet_R101c_os8_769_hl_bs8_40k.yaml

Key mapping (mmseg -> HardSeg; ``bn`` -> ``norm`` everywhere, all BN buffers kept):

=====================================================  =============================================
mmseg                                                  HardSeg
=====================================================  =============================================
backbone.stem.{0,3,6}.weight (V1c deep stem)           backbone.stem.conv{1,2,3}.weight
backbone.stem.{1,4,7}.*                                backbone.stem.conv{1,2,3}.norm.*
backbone.conv1.weight, backbone.bn1.* (V1 stem)        backbone.stem.conv1.weight / .norm.*
backbone.layer{i}.{j}.conv{k}.weight                   backbone.res{i+1}.{j}.conv{k}.weight
backbone.layer{i}.{j}.bn{k}.*                          backbone.res{i+1}.{j}.conv{k}.norm.*
backbone.layer{i}.{j}.downsample.{0,1}.*               backbone.res{i+1}.{j}.shortcut(.norm).*
decode_head.psp_modules.{s}.1.{conv,bn}.*              sem_seg_head.ppm.{s}(.norm).*
decode_head.bottleneck.{conv,bn}.*                     sem_seg_head.bottleneck(.norm).*
decode_head.convs.{n}.{conv,bn}.* (FCN)                sem_seg_head.convs.{n}(.norm).*
decode_head.conv_cat.{conv,bn}.* (FCN)                 sem_seg_head.conv_cat(.norm).*
decode_head.conv_seg.{weight,bias}                     sem_seg_head.predictor.{weight,bias}
decode_head.image_pool.1.{conv,bn}.* (DeepLabV3+)      sem_seg_head.image_pool.1(.norm).*
decode_head.aspp_modules.0.{conv,bn}.*                 sem_seg_head.aspp_modules.0(.norm).*
decode_head.aspp_modules.{i}.{depthwise,pointwise}_    sem_seg_head.aspp_modules.{i}.{depthwise,
  conv.{conv,bn}.*                                       pointwise}_conv(.norm).*
decode_head.c1_bottleneck.{conv,bn}.*                  sem_seg_head.c1_bottleneck(.norm).*
decode_head.sep_bottleneck.{j}.{depthwise,pointwise}_  sem_seg_head.sep_bottleneck.{j}.{depthwise,
  conv.{conv,bn}.*                                       pointwise}_conv(.norm).*
auxiliary_head.* (FCN on C4)                           aux_head.* (same head rules)
weigh_head.* (HL branch, 1 output)                     sem_seg_head.hl.* (same head rules), or
                                                       dropped with --drop-hl (plain-model eval)
=====================================================  =============================================

Every key must map (unknown keys are an error) and two keys never map to one. ``--drop-hl`` and
``--drop-aux`` remove the HL branch / auxiliary head, for configs without them. ``--check-config``
builds the config's model on CPU and loads the result with ``strict=True``.
"""

import argparse
import re
import sys
from collections import OrderedDict

import torch

from hardseg.checkpoint import CheckpointLoadError, atomic_write, load_checkpoint_file

_HEADS = {
    "decode_head": "sem_seg_head",
    "auxiliary_head": "aux_head",
    "weigh_head": "sem_seg_head.hl",
}

# (pattern, replacement) over the key with the head prefix removed
_BACKBONE_RULES = [
    (r"^stem\.0\.weight$", "stem.conv1.weight"),
    (r"^stem\.3\.weight$", "stem.conv2.weight"),
    (r"^stem\.6\.weight$", "stem.conv3.weight"),
    (r"^stem\.1\.(.+)$", r"stem.conv1.norm.\1"),
    (r"^stem\.4\.(.+)$", r"stem.conv2.norm.\1"),
    (r"^stem\.7\.(.+)$", r"stem.conv3.norm.\1"),
    (r"^conv1\.weight$", "stem.conv1.weight"),
    (r"^bn1\.(.+)$", r"stem.conv1.norm.\1"),
    (r"^layer(\d)\.(\d+)\.conv(\d)\.weight$", None),  # stage index shifts: handled in code
    (r"^layer(\d)\.(\d+)\.bn(\d)\.(.+)$", None),
    (r"^layer(\d)\.(\d+)\.downsample\.0\.weight$", None),
    (r"^layer(\d)\.(\d+)\.downsample\.1\.(.+)$", None),
]
_HEAD_RULES = [
    (r"^conv_seg\.(weight|bias)$", r"predictor.\1"),
    (r"^psp_modules\.(\d+)\.1\.conv\.(weight|bias)$", r"ppm.\1.\2"),
    (r"^psp_modules\.(\d+)\.1\.bn\.(.+)$", r"ppm.\1.norm.\2"),
    (r"^(bottleneck|conv_cat)\.conv\.(weight|bias)$", r"\1.\2"),
    (r"^(bottleneck|conv_cat)\.bn\.(.+)$", r"\1.norm.\2"),
    (r"^convs\.(\d+)\.conv\.(weight|bias)$", r"convs.\1.\2"),
    (r"^convs\.(\d+)\.bn\.(.+)$", r"convs.\1.norm.\2"),
    # DepthwiseSeparableASPPHead: HardSeg keeps mmseg's module names, renaming conv/bn only
    (
        r"^((?:image_pool|aspp_modules|c1_bottleneck|sep_bottleneck)[\w.]*?)\.conv\.(weight|bias)$",
        r"\1.\2",
    ),
    (
        r"^((?:image_pool|aspp_modules|c1_bottleneck|sep_bottleneck)[\w.]*?)\.bn\.(.+)$",
        r"\1.norm.\2",
    ),
]


def _backbone_key(rest: str):
    m = re.match(r"^layer(\d)\.(\d+)\.(conv|bn)(\d)\.(.+)$", rest)
    if m:
        stage, block, kind, k, tail = m.groups()
        norm = ".norm" if kind == "bn" else ""
        return f"res{int(stage) + 1}.{block}.conv{k}{norm}.{tail}"
    m = re.match(r"^layer(\d)\.(\d+)\.downsample\.([01])\.(.+)$", rest)
    if m:
        stage, block, idx, tail = m.groups()
        return f"res{int(stage) + 1}.{block}.shortcut{'.norm' if idx == '1' else ''}.{tail}"
    for pattern, repl in _BACKBONE_RULES:
        if repl is not None and re.match(pattern, rest):
            return re.sub(pattern, repl, rest)
    return None


def _head_key(rest: str):
    for pattern, repl in _HEAD_RULES:
        if re.match(pattern, rest):
            return re.sub(pattern, repl, rest)
    return None


def convert(state_dict, drop_hl: bool = False, drop_aux: bool = False):
    """mmseg ``state_dict`` -> (HardSeg state dict, list of dropped mmseg keys).

    Raises:
        KeyError: keys that match no rule, or two keys that map to the same name.
    """
    out, dropped, unknown = OrderedDict(), [], []
    for key, value in state_dict.items():
        prefix, _, rest = key.partition(".")
        if (prefix == "weigh_head" and drop_hl) or (prefix == "auxiliary_head" and drop_aux):
            dropped.append(key)
            continue
        if prefix == "backbone":
            new = _backbone_key(rest)
            new = None if new is None else "backbone." + new
        elif prefix in _HEADS:
            new = _head_key(rest)
            new = None if new is None else f"{_HEADS[prefix]}.{new}"
        else:
            new = None
        if new is None:
            unknown.append(key)
            continue
        if new in out:
            raise KeyError(f"two mmseg keys map to {new!r} (the second is {key!r}).")
        out[new] = value
    if unknown:
        raise KeyError(
            f"{len(unknown)} mmseg keys have no HardSeg counterpart (supported: ResNet V1/V1c "
            f"backbones, PSP, DeepLabV3+ (DepthwiseSeparableASPPHead) and FCN heads, the HL weigh_head), e.g. {unknown[:8]}"
        )
    return out, dropped


def _load_mmseg(path):
    """The state dict of an mmseg checkpoint, read with ``torch.load(weights_only=True)``: tensors,
    containers, plain values and numpy arrays load (mmseg's ``meta`` holds only those); a file
    naming any other Python object is refused with an error, so no code from it runs."""
    ckpt = load_checkpoint_file(path)
    if not isinstance(ckpt, dict):
        raise CheckpointLoadError(f"{path}: holds a {type(ckpt).__name__}; expected a dict.")
    return ckpt.get("state_dict", ckpt)


def check_strict(state_dict, config_file):
    """Build ``config_file``'s model on CPU and load ``state_dict`` with strict=True."""
    sys.path.insert(0, __file__.rsplit("/tools/", 1)[0])
    from detectron2.modeling import build_model

    from hardseg.engine import setup_cfg

    cfg = setup_cfg(config_file, ["MODEL.DEVICE", "cpu"])
    model = build_model(cfg)
    model.load_state_dict(state_dict, strict=True)
    return sum(v.numel() for v in state_dict.values())


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("input", help="mmseg checkpoint (.pth with 'state_dict')")
    parser.add_argument("output", help="HardSeg checkpoint to write (.pth)")
    parser.add_argument("--drop-hl", action="store_true", help="drop weigh_head.* (plain model)")
    parser.add_argument("--drop-aux", action="store_true", help="drop auxiliary_head.*")
    parser.add_argument("--check-config", help="a config whose model must load the result strictly")
    args = parser.parse_args(argv)
    converted, dropped = convert(_load_mmseg(args.input), args.drop_hl, args.drop_aux)
    data = {"model": converted, "__author__": "mmseg, converted by HardSeg"}
    atomic_write(args.output, lambda f: torch.save(data, f))
    print(f"converted {len(converted)} tensors, dropped {len(dropped)}; wrote {args.output}")
    if args.check_config:
        n = check_strict(converted, args.check_config)
        print(f"{args.check_config}: strict load OK ({n / 1e6:.2f} M values)")


if __name__ == "__main__":
    main()
