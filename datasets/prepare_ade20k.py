#!/usr/bin/env python
"""Prepare the ade20k labels under $DETECTRON2_DATASETS (see datasets/README.md).

Thin entry point: the work is done by hardseg.data.prepare.ade20k; --help lists the options
(--root, --workers, --overwrite, --check, --strict).
"""

import sys

from hardseg.data.prepare.ade20k import main

if __name__ == "__main__":
    sys.exit(main())
