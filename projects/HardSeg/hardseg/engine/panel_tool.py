"""The command line shared by tools/visualize_predictions.py and tools/visualize_hardness.py."""

import argparse
import logging
import os

from detectron2.data import DatasetCatalog, MetadataCatalog
from detectron2.utils.logger import setup_logger

from ..checkpoint import load_model_weights
from ..data import SemanticDatasetMapper
from .defaults import setup_cfg
from .trainer import Trainer

__all__ = ["panel_tool_main"]


def panel_tool_main(description: str, default_subdir: str, save_panels, argv=None):
    """Parse ``--config-file CONFIG [--output DIR] [--num-images N] KEY VALUE ...``, build the
    config's model, load ``MODEL.WEIGHTS`` (every model key must load: no weights, or weights of
    another model -- e.g. plain weights for an HL config -- are refused unless
    ``TEST.ALLOW_PARTIAL_WEIGHTS``), and write panels for each ``DATASETS.TEST`` dataset to
    ``DIR/<dataset>/`` (default ``OUTPUT_DIR/<default_subdir>``).

    Args:
        save_panels: ``(model, dataset_dicts, mapper, metadata, out_dir, num_images) -> paths``.
    """
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--config-file", required=True)
    parser.add_argument("--output", default="", help=f"default: OUTPUT_DIR/{default_subdir}")
    parser.add_argument("--num-images", type=int, default=None, help="default: TEST.VIS.NUM_IMAGES")
    parser.add_argument("opts", nargs=argparse.REMAINDER, help="KEY VALUE config overrides")
    args = parser.parse_args(argv)
    setup_logger(name="hardseg")
    cfg = setup_cfg(args.config_file, args.opts)
    model = Trainer.build_model(cfg)
    load_model_weights(model, cfg.MODEL.WEIGHTS, allow_partial=cfg.TEST.ALLOW_PARTIAL_WEIGHTS)
    mapper = SemanticDatasetMapper(cfg, is_train=False)
    out_root = args.output or os.path.join(cfg.OUTPUT_DIR, default_subdir)
    num = cfg.TEST.VIS.NUM_IMAGES if args.num_images is None else args.num_images
    for name in cfg.DATASETS.TEST:
        out_dir = os.path.join(out_root, name)
        paths = save_panels(
            model, DatasetCatalog.get(name), mapper, MetadataCatalog.get(name), out_dir, num
        )
        logging.getLogger("hardseg").info(f"wrote {len(paths)} panels to {out_dir}")
