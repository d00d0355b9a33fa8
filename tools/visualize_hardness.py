#!/usr/bin/env python
"""Write image | ground truth | prediction | hardness-map PNG panels for the test datasets of an HL
model's YAML config (MODEL.SEM_SEG_HEAD.NAME "HardnessHead").

    python tools/visualize_hardness.py --config-file configs/hardshapes/deeplabv3plus_R18_os8_hl_bs8_600it.yaml \
        [--output DIR] [--num-images N] MODEL.WEIGHTS output/.../model_final.pth

Panels go to ``DIR/<dataset>/`` (default ``OUTPUT_DIR/vis_hardness``); the hardness map is
sigmoid(HL logit) in [0, 1] (JET colours: blue easy, red hard); ``TEST.VIS.NUM_IMAGES`` per dataset
unless ``--num-images`` is given.
"""

import argparse
import logging
import os

from detectron2.checkpoint import DetectionCheckpointer
from detectron2.data import DatasetCatalog, MetadataCatalog
from detectron2.utils.logger import setup_logger

import hardseg  # noqa: F401  (registers HardSeg's models and datasets)
from hardseg.data import SemanticDatasetMapper
from hardseg.engine import Trainer, setup_cfg
from hardseg.utils.hardness_vis import save_hardness_panels


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--config-file", required=True)
    parser.add_argument("--output", default="", help="default: OUTPUT_DIR/vis_hardness")
    parser.add_argument("--num-images", type=int, default=None)
    parser.add_argument("opts", nargs=argparse.REMAINDER, help="KEY VALUE config overrides")
    args = parser.parse_args()
    setup_logger(name="hardseg")
    cfg = setup_cfg(args.config_file, args.opts)
    model = Trainer.build_model(cfg)
    DetectionCheckpointer(model).load(cfg.MODEL.WEIGHTS)
    mapper = SemanticDatasetMapper(cfg, is_train=False)
    out_root = args.output or os.path.join(cfg.OUTPUT_DIR, "vis_hardness")
    num = cfg.TEST.VIS.NUM_IMAGES if args.num_images is None else args.num_images
    for name in cfg.DATASETS.TEST:
        out_dir = os.path.join(out_root, name)
        paths = save_hardness_panels(
            model, DatasetCatalog.get(name), mapper, MetadataCatalog.get(name), out_dir, num
        )
        logging.getLogger("hardseg").info(f"wrote {len(paths)} hardness panels to {out_dir}")


if __name__ == "__main__":
    main()
