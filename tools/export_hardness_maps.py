#!/usr/bin/env python
"""Export the hardness map of every training image from a trained HL model (the official
Mask2Former / SegFormer HL variant's fixed maps, docs/methods/hl.md §8.6).

    python tools/export_hardness_maps.py \
        --config-file configs/cityscapes/semantic-segmentation/pspnet_R101c_os8_769_hl_bs8_40k.yaml \
        --output output/hardness_maps/cityscapes MODEL.WEIGHTS output/.../model_final.pth

For each image of each ``DATASETS.TRAIN`` dataset (or ``--datasets``), the HL branch's
sigmoid(z) in [0, 1] is computed on the whole image at its original size (no augmentation) and
written as ``<output>/<image file stem>.npy``, float16 (H, W). Train another model on these maps
with ``MODEL.HARDNESS.SOURCE "fixed"`` and ``INPUT.HARDNESS_MAP_DIR <output>``. The weights must
fit the config's model, HL branch included.
"""

import argparse
import logging
import os
from pathlib import Path

import numpy as np
import torch

import hardseg  # noqa: F401  (registers HardSeg's models and datasets)
from detectron2.data import DatasetCatalog
from detectron2.utils.logger import setup_logger

from hardseg.checkpoint import load_model_weights
from hardseg.data import SemanticDatasetMapper
from hardseg.engine import setup_cfg
from hardseg.engine.trainer import Trainer
from hardseg.utils.hardness_vis import hardness_maps


@torch.no_grad()
def export_hardness_maps(model, dataset_dicts, image_format: str, output_dir) -> list:
    """Write ``<output_dir>/<file stem>.npy`` (H, W) float16 hardness maps of ``model`` (a
    HardSegmentor with a HardnessHead) for ``dataset_dicts``; returns the written paths.

    Raises:
        ValueError: two images share a file stem (their maps would overwrite each other).
    """
    model.eval()
    mapper = SemanticDatasetMapper(
        is_train=False, augmentations=[], image_format=image_format, num_classes=1
    )
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths, seen = [], {}
    for d in dataset_dicts:
        stem = Path(d["file_name"]).stem
        if stem in seen:
            raise ValueError(
                f"{d['file_name']} and {seen[stem]} share the file stem {stem!r}; the maps are "
                "named by stem, so export these datasets to different --output directories."
            )
        seen[stem] = d["file_name"]
        hardness = hardness_maps(model, [mapper(d)])[0]
        path = out / f"{stem}.npy"
        np.save(path, hardness.numpy().astype(np.float16))
        paths.append(str(path))
    return paths


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--config-file", required=True)
    parser.add_argument("--output", required=True, help="directory of the .npy maps")
    parser.add_argument("--datasets", nargs="*", default=None, help="default: DATASETS.TRAIN")
    parser.add_argument("opts", nargs=argparse.REMAINDER, help="KEY VALUE config overrides")
    args = parser.parse_args(argv)
    setup_logger(name="hardseg")
    cfg = setup_cfg(args.config_file, args.opts)
    model = Trainer.build_model(cfg)
    load_model_weights(model, cfg.MODEL.WEIGHTS, allow_partial=cfg.TEST.ALLOW_PARTIAL_WEIGHTS)
    for name in args.datasets or cfg.DATASETS.TRAIN:
        paths = export_hardness_maps(model, DatasetCatalog.get(name), cfg.INPUT.FORMAT, args.output)
        logging.getLogger("hardseg").info(
            f"wrote {len(paths)} hardness maps of {name} to {os.path.abspath(args.output)}"
        )


if __name__ == "__main__":
    main()
