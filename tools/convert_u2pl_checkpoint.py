#!/usr/bin/env python
"""Convert an official U2PL checkpoint (Haochen-Wang409/U2PL @ab3d2be, e.g. the released
Cityscapes ResNet-101 ``ckpt.pth`` / ``ckpt_best.pth``) into a HardSeg checkpoint of the
per-pixel model (``HardSegmentor``: ``backbone``, ``sem_seg_head`` = ``U2PLDeepLabV3PlusHead``,
``aux_head`` = ``FCNHead``) for ``--eval-only`` with the SupOnly config of the same dataset.

    python tools/convert_u2pl_checkpoint.py ckpt_best.pth output/u2pl_cs_744_teacher.pth \
        --check-config configs/cityscapes/semi-supervised/suponly_deeplabv3plus_R103_os8_mg124_769_bs16_28k_1-4.yaml

The file holds ``model_state`` (the student) and, for U2PL runs, ``teacher_state``; ``--branch``
picks one (default: the teacher when present, as the official ``eval.py`` does). A leading
``module.`` (DistributedDataParallel) is removed. Key mapping (official -> HardSeg):

================================================  ===============================================
official                                          HardSeg
================================================  ===============================================
encoder.conv1.{0,3,6}.weight (deep stem)          backbone.stem.conv{1,2,3}.weight
encoder.conv1.{1,4}.*, encoder.bn1.*              backbone.stem.conv{1,2}.norm.*, stem.conv3.norm.*
encoder.layer{i}.{j}.conv{k}.weight               backbone.res{i+1}.{j}.conv{k}.weight
encoder.layer{i}.{j}.bn{k}.*                      backbone.res{i+1}.{j}.conv{k}.norm.*
encoder.layer{i}.{j}.downsample.{0,1}.*           backbone.res{i+1}.{j}.shortcut(.norm).*
decoder.low_conv.{0,1}.*                          sem_seg_head.low_conv(.norm).*
decoder.aspp.conv1.{1,2}.* (image pooling)        sem_seg_head.aspp.0(.norm).*
decoder.aspp.conv{2..5}.{0,1}.*                   sem_seg_head.aspp.{1..4}(.norm).*
decoder.head.{0,1}.*                              sem_seg_head.aspp_reduce(.norm).*
decoder.classifier.{0,1}.*, {4,5}.*, 8.*          sem_seg_head.fuse.0(.norm).*, fuse.1(.norm).*,
                                                  sem_seg_head.predictor.*
decoder.representation.*                          dropped (the embedding head: U2PL training only)
auxor.aux.{0,1}.*, auxor.aux.4.*                  aux_head.convs.0(.norm).*, aux_head.predictor.*
================================================  ===============================================

The official aux conv has a bias that HardSeg's ``FCNHead`` conv does not: it is folded exactly
into the following BatchNorm (``running_mean -= bias``; batch statistics are shift-invariant).
Every key must map (unknown keys are an error) and two keys never map to one. The file is read
by hardseg.checkpoint's safe loader. ``--check-config`` loads the result with ``strict=True``.
"""

import argparse
import re
from collections import OrderedDict

import torch

from hardseg.checkpoint import CheckpointLoadError, atomic_write, load_checkpoint_file

__all__ = ["convert", "convert_key", "main"]

_STEM = {"0": "conv1", "1": "conv1.norm", "3": "conv2", "4": "conv2.norm", "6": "conv3"}
_CLASSIFIER = {
    "0": "fuse.0",
    "1": "fuse.0.norm",
    "4": "fuse.1",
    "5": "fuse.1.norm",
    "8": "predictor",
}
_AUX = {"0": "convs.0", "1": "convs.0.norm", "4": "predictor"}
AUX_BIAS = "auxor.aux.0.bias"


def convert_key(key: str):
    """The HardSeg name of one official key; None for a dropped key; ValueError if unknown."""
    rules = [
        (r"^encoder\.conv1\.(\d)\.(.+)$", lambda m: _table(_STEM, m, "backbone.stem.")),
        (r"^encoder\.bn1\.(.+)$", lambda m: f"backbone.stem.conv3.norm.{m.group(1)}"),
        (
            r"^encoder\.layer(\d)\.(\d+)\.conv(\d)\.(.+)$",
            lambda m: f"backbone.res{int(m.group(1)) + 1}.{m.group(2)}.conv{m.group(3)}."
            f"{m.group(4)}",
        ),
        (
            r"^encoder\.layer(\d)\.(\d+)\.bn(\d)\.(.+)$",
            lambda m: f"backbone.res{int(m.group(1)) + 1}.{m.group(2)}.conv{m.group(3)}.norm."
            f"{m.group(4)}",
        ),
        (
            r"^encoder\.layer(\d)\.(\d+)\.downsample\.([01])\.(.+)$",
            lambda m: f"backbone.res{int(m.group(1)) + 1}.{m.group(2)}.shortcut"
            f"{'' if m.group(3) == '0' else '.norm'}.{m.group(4)}",
        ),
        (
            r"^decoder\.low_conv\.([01])\.(.+)$",
            lambda m: f"sem_seg_head.low_conv{'' if m.group(1) == '0' else '.norm'}.{m.group(2)}",
        ),
        (
            r"^decoder\.aspp\.conv1\.([12])\.(.+)$",
            lambda m: f"sem_seg_head.aspp.0{'' if m.group(1) == '1' else '.norm'}.{m.group(2)}",
        ),
        (
            r"^decoder\.aspp\.conv([2-5])\.([01])\.(.+)$",
            lambda m: f"sem_seg_head.aspp.{int(m.group(1)) - 1}"
            f"{'' if m.group(2) == '0' else '.norm'}.{m.group(3)}",
        ),
        (
            r"^decoder\.head\.([01])\.(.+)$",
            lambda m: f"sem_seg_head.aspp_reduce{'' if m.group(1) == '0' else '.norm'}."
            f"{m.group(2)}",
        ),
        (r"^decoder\.classifier\.(\d)\.(.+)$", lambda m: _table(_CLASSIFIER, m, "sem_seg_head.")),
        (r"^decoder\.representation\.", lambda m: None),
        (r"^auxor\.aux\.(\d)\.(.+)$", lambda m: _table(_AUX, m, "aux_head.")),
    ]
    for pattern, name in rules:
        m = re.match(pattern, key)
        if m:
            return name(m)
    raise ValueError(f"{key!r} is not a key of the official U2PL DeepLabV3+ (ab3d2be).")


def _table(table, m, prefix):
    if m.group(1) not in table:
        raise ValueError(f"{m.group(0)!r}: no parameters at index {m.group(1)} officially.")
    return f"{prefix}{table[m.group(1)]}.{m.group(2)}"


def convert(state_dict):
    """Official U2PL model state dict (with or without ``module.``) -> (HardSeg state dict,
    dropped keys)."""
    sd = OrderedDict((k[len("module.") :] if k.startswith("module.") else k, v) for k, v in
                     state_dict.items())  # fmt: skip
    out, dropped = OrderedDict(), []
    for key, value in sd.items():
        if key == AUX_BIAS:
            continue  # folded below
        new = convert_key(key)
        if new is None:
            dropped.append(key)
            continue
        if new in out:
            raise ValueError(f"two official keys map to {new!r} (the second is {key!r})")
        out[new] = value
    if AUX_BIAS in sd:
        mean = "aux_head.convs.0.norm.running_mean"
        if mean not in out:
            raise ValueError(f"{AUX_BIAS} without auxor.aux.1.running_mean to fold it into")
        out[mean] = out[mean] - sd[AUX_BIAS]
    return out, dropped


def _load_official(path, branch):
    ckpt = load_checkpoint_file(path)
    if not isinstance(ckpt, dict):
        raise CheckpointLoadError(f"{path}: holds a {type(ckpt).__name__}; expected a dict.")
    if branch is None:
        branch = "teacher" if "teacher_state" in ckpt else "student"
    key = f"{'teacher' if branch == 'teacher' else 'model'}_state"
    if key not in ckpt:
        raise CheckpointLoadError(
            f"{path}: no {key!r} (keys: {sorted(ckpt)[:6]}); pick the other --branch."
        )
    return ckpt[key], branch


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
    parser.add_argument("input", help="official U2PL checkpoint (.pth)")
    parser.add_argument("output", help="HardSeg checkpoint to write (.pth)")
    parser.add_argument("--branch", choices=["teacher", "student"], help="default: teacher")
    parser.add_argument("--check-config", help="a config whose model must load the result strictly")
    args = parser.parse_args(argv)
    state, branch = _load_official(args.input, args.branch)
    converted, dropped = convert(state)
    data = {"model": converted, "__author__": f"U2PL ({branch}), converted by HardSeg"}
    atomic_write(args.output, lambda f: torch.save(data, f))
    print(
        f"{branch}: converted {len(converted)} tensors, dropped {len(dropped)}; wrote {args.output}"
    )
    if args.check_config:
        n = check_strict(converted, args.check_config)
        print(f"{args.check_config}: strict load OK ({n / 1e6:.2f} M values)")


if __name__ == "__main__":
    main()
