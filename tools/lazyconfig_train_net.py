#!/usr/bin/env python
"""Train or evaluate a HardSeg model from a LazyConfig ``.py`` file.

    python tools/lazyconfig_train_net.py --config-file configs/lazy/hardshapes/deeplabv3plus_R18_os8_bs8_600it.py \
        train.max_iter=100 model.sem_seg_head.num_classes=7
    python tools/lazyconfig_train_net.py --config-file ... --eval-only train.init_checkpoint=path.pth

Overrides are ``key=value`` on existing keys (a misspelt key is an error); ``+key=value`` adds one.
The config defines ``model``, ``dataloader``, ``optimizer``, ``lr_multiplier`` and ``train``.
"""

from detectron2.engine import default_argument_parser

import hardseg  # noqa: F401  (registers HardSeg's models and datasets)
from hardseg.engine import launch_from_args
from hardseg.engine.lazy import main

if __name__ == "__main__":
    args = default_argument_parser().parse_args()
    print("Command Line Args:", args)
    launch_from_args(main, args)
