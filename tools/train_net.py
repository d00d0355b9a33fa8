#!/usr/bin/env python
"""Train or evaluate a HardSeg model from a YAML config.

    python tools/train_net.py --config-file configs/hardshapes/deeplabv3plus_R18_os8_bs8_600it.yaml
    python tools/train_net.py --config-file ... --num-gpus 8
    python tools/train_net.py --config-file ... --eval-only MODEL.WEIGHTS output/model_final.pth
    python tools/train_net.py --config-file ... --resume            # continue the last checkpoint

Trailing ``KEY VALUE`` pairs override the config. Without CUDA, ``--num-gpus N`` starts N CPU
processes over gloo (see hardseg/engine/launch.py).
"""

from detectron2.engine import default_argument_parser

import hardseg  # noqa: F401  (registers HardSeg's models and datasets)
from hardseg.checkpoint import load_model_weights
from hardseg.engine import Trainer, launch_from_args, setup_cfg


def main(args):
    cfg = setup_cfg(args.config_file, args.opts, args=args)
    if args.eval_only:
        model = Trainer.build_model(cfg)
        load_model_weights(  # every model key must load, unless TEST.ALLOW_PARTIAL_WEIGHTS
            model,
            cfg.MODEL.WEIGHTS,
            allow_partial=cfg.TEST.ALLOW_PARTIAL_WEIGHTS,
            save_dir=cfg.OUTPUT_DIR,
            resume=args.resume,
        )
        return Trainer.test(cfg, model)
    trainer = Trainer(cfg)
    trainer.resume_or_load(resume=args.resume)
    return trainer.train()


if __name__ == "__main__":
    args = default_argument_parser().parse_args()
    print("Command Line Args:", args)
    launch_from_args(main, args)
