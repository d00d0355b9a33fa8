#!/usr/bin/env python
"""Convert an official (or mmseg) checkpoint of an efficient architecture into a HardSeg checkpoint.

    python tools/convert_efficient_checkpoint.py mit --input mit_b2.pth --output mit_b2_hardseg.pth \
        --check-config configs/cityscapes/semantic-segmentation/segformer_B2_1024_bs8_160k.yaml

Architectures: ``mit`` (NVlabs/SegFormer and mmseg's MiT), ``mscan`` (SegNeXt), ``regseg``,
``stdc`` (STDC-Seg), ``topformer``; the key mappings are documented in ``hardseg/weights/<arch>.py``. Files are read
with HardSeg's safe loader (no code from the file runs). Keys that no rule maps are an error naming them. With
``--check-config`` the config's model must accept the result: every converted key must exist
with the same shape, and for a full segmentation checkpoint no model key may be missing (an
ImageNet encoder fills only ``backbone.*``).
"""

import argparse
import os
import sys

import torch

sys.path.insert(
    0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "projects", "HardSeg")
)
from hardseg.checkpoint import CheckpointLoadError, atomic_write, load_checkpoint_file  # noqa: E402
from hardseg.weights import (  # noqa: E402
    UnmatchedKeysError,
    convert_mit,
    convert_mscan,
    convert_regseg,
    convert_stdc,
    convert_topformer,
)

CONVERTERS = {
    "mit": convert_mit,
    "mscan": convert_mscan,
    "regseg": convert_regseg,
    "stdc": convert_stdc,
    "topformer": convert_topformer,
}


def read_state_dict(path):
    ckpt = load_checkpoint_file(path)
    if not isinstance(ckpt, dict):
        raise CheckpointLoadError(f"{path}: holds a {type(ckpt).__name__}; expected a dict.")
    for key in ("state_dict_ema", "state_dict", "model"):
        if isinstance(ckpt.get(key), dict):
            return ckpt[key]
    return ckpt


def check_config(state_dict, config_file):
    """Every converted key exists in the config's model with the same shape; for weights beyond
    the backbone, no model key is missing."""
    from detectron2.modeling import META_ARCH_REGISTRY

    from hardseg.engine import setup_cfg

    cfg = setup_cfg(config_file, ["MODEL.DEVICE", "cpu"])
    with torch.device("meta"):
        model = META_ARCH_REGISTRY.get(cfg.MODEL.META_ARCHITECTURE)(cfg)
    expected = model.state_dict()
    backbone_only = all(k.startswith("backbone.") for k in state_dict)
    missing = [k for k in expected if k not in state_dict]
    if backbone_only:
        missing = [k for k in missing if k.startswith("backbone.")]
    unexpected = [k for k in state_dict if k not in expected]
    shapes = [k for k in state_dict if k in expected and state_dict[k].shape != expected[k].shape]
    if missing or unexpected or shapes:
        raise UnmatchedKeysError(
            f"{config_file}: missing {missing[:10]}, unexpected {unexpected[:10]}, "
            f"other shapes {shapes[:10]}"
        )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("arch", choices=sorted(CONVERTERS))
    parser.add_argument("--input", required=True)
    parser.add_argument("--output", required=True)
    parser.add_argument("--check-config", help="a config whose model must accept the result")
    args = parser.parse_args(argv)
    converted, dropped = CONVERTERS[args.arch](read_state_dict(args.input))
    if args.check_config:
        check_config(converted, args.check_config)
    data = {"model": converted, "__author__": f"{args.arch} release, converted by HardSeg"}
    atomic_write(args.output, lambda f: torch.save(data, f))
    print(
        f"converted {len(converted)} tensors, dropped {len(dropped)} {dropped[:4]}; wrote {args.output}"
    )


if __name__ == "__main__":
    main()
