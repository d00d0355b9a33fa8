#!/usr/bin/env python
"""Write image | ground truth | prediction PNG panels for the test datasets of a YAML config.

    python tools/visualize_predictions.py --config-file CONFIG [--output DIR] [--num-images N] \
        MODEL.WEIGHTS model.pth

Panels go to ``DIR/<dataset>/`` (default ``OUTPUT_DIR/vis``); ``TEST.VIS.NUM_IMAGES`` per dataset
unless ``--num-images`` is given. The weights must fit the config's model (every key loads).
"""

import hardseg  # noqa: F401  (registers HardSeg's models and datasets)
from hardseg.engine.panel_tool import panel_tool_main
from hardseg.utils.visualize import save_prediction_panels

if __name__ == "__main__":
    panel_tool_main(__doc__.split("\n")[0], "vis", save_prediction_panels)
