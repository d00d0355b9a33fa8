#!/usr/bin/env python
"""Prepare the gta5 labels under $DETECTRON2_DATASETS (see datasets/README.md).

Thin entry point: the work is done by hardseg.data.prepare.gta5; --help lists the options
(--root, --workers, --overwrite, --check, --strict).
"""

import sys

from hardseg.data.prepare.gta5 import main

if __name__ == "__main__":
    sys.exit(main())
