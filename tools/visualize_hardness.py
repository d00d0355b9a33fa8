#!/usr/bin/env python
"""Write image | ground truth | prediction | hardness-map PNG panels for the test datasets of an HL
model's YAML config (MODEL.SEM_SEG_HEAD.NAME "HardnessHead").

    python tools/visualize_hardness.py --config-file configs/hardshapes/deeplabv3plus_R18_os8_hl_bs8_600it.yaml \
        [--output DIR] [--num-images N] MODEL.WEIGHTS output/.../model_final.pth

Panels go to ``DIR/<dataset>/`` (default ``OUTPUT_DIR/vis_hardness``); the hardness map is
sigmoid(HL logit) in [0, 1] (JET colours: blue easy, red hard); ``TEST.VIS.NUM_IMAGES`` per dataset
unless ``--num-images`` is given. The weights must fit the config's model, HL branch included.
"""

import hardseg  # noqa: F401  (registers HardSeg's models and datasets)
from hardseg.engine.panel_tool import panel_tool_main
from hardseg.utils.hardness_vis import save_hardness_panels

if __name__ == "__main__":
    panel_tool_main(__doc__.split("\n")[0], "vis_hardness", save_hardness_panels)
