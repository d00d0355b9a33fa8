#!/usr/bin/env python
"""Prepare the pascal_context labels under $DETECTRON2_DATASETS (see datasets/README.md).

Thin entry point: the work is done by hardseg.data.prepare.pascal_context; --help lists the options
(--root, --workers, --overwrite, --check, --strict).
"""

import sys

from hardseg.data.prepare.pascal_context import main

if __name__ == "__main__":
    sys.exit(main())
