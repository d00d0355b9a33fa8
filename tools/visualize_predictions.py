#!/usr/bin/env python
"""Write image | ground truth | prediction PNG panels for the test datasets of a YAML config.

    python tools/visualize_predictions.py --config-file CONFIG [--output DIR] MODEL.WEIGHTS model.pth

Panels go to ``DIR/<dataset>/`` (default ``OUTPUT_DIR/vis``); ``TEST.VIS.NUM_IMAGES`` per dataset.
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
from hardseg.utils.visualize import save_prediction_panels


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--config-file", required=True)
    parser.add_argument("--output", default="", help="default: OUTPUT_DIR/vis")
    parser.add_argument("opts", nargs=argparse.REMAINDER, help="KEY VALUE config overrides")
    args = parser.parse_args()
    setup_logger(name="hardseg")
    cfg = setup_cfg(args.config_file, args.opts)
    model = Trainer.build_model(cfg)
    DetectionCheckpointer(model).load(cfg.MODEL.WEIGHTS)
    mapper = SemanticDatasetMapper(cfg, is_train=False)
    out_root = args.output or os.path.join(cfg.OUTPUT_DIR, "vis")
    for name in cfg.DATASETS.TEST:
        paths = save_prediction_panels(
            model,
            DatasetCatalog.get(name),
            mapper,
            MetadataCatalog.get(name),
            os.path.join(out_root, name),
            cfg.TEST.VIS.NUM_IMAGES,
        )
        logging.getLogger("hardseg").info(
            f"wrote {len(paths)} panels to {os.path.join(out_root, name)}"
        )


if __name__ == "__main__":
    main()
