#!/usr/bin/env python
"""Convert an official HIAST DeepLab-v2 checkpoint (e.g. ``HIAST_final.pth``, GTA5 -> Cityscapes)
or torchvision's ImageNet ResNet-101 (``resnet101-5d3b4d8f.pth``, the stage-0 initialisation) to
a HardSeg checkpoint (docs/methods/hiast.md §8).

    python tools/convert_hiast_checkpoint.py HIAST_final.pth output/hiast_gta5_cs.pth
    python tools/train_net.py --eval-only \
        --config-file configs/uda/gta5_cityscapes/hiast_source_only_deeplabv2_R101_gta5_cityscapes.yaml \
        MODEL.WEIGHTS output/hiast_gta5_cs.pth
    python tools/convert_hiast_checkpoint.py --torchvision-resnet resnet101-5d3b4d8f.pth \
        output/pretrained/resnet101_torchvision_converted.pth

Files are read with HardSeg's safe loader (no code runs from them).
"""

import argparse

import torch

from hardseg.checkpoint import atomic_write, load_checkpoint_file
from hardseg.modeling.backbone.torchvision_keys import convert_torchvision_resnet
from hardseg.modeling.uda.official_keys import convert_official_deeplab_v2, unwrap_state_dict


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("input")
    parser.add_argument("output")
    parser.add_argument(
        "--torchvision-resnet",
        action="store_true",
        help="the input is a torchvision ResNet (ImageNet): write backbone.* keys only",
    )
    args = parser.parse_args(argv)
    try:
        state = unwrap_state_dict(load_checkpoint_file(args.input))
        if args.torchvision_resnet:
            model = {"backbone." + k: v for k, v in convert_torchvision_resnet(state).items()}
        else:
            model = convert_official_deeplab_v2(state)
    except ValueError as e:
        raise SystemExit(f"{args.input}: {e}")
    atomic_write(args.output, lambda f: torch.save({"model": model}, f))
    print(f"{args.output}: {len(model)} tensors")


if __name__ == "__main__":
    main()
