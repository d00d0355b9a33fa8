#!/usr/bin/env python
"""Installs the ``hardseg`` package from projects/HardSeg/hardseg.

detectron2 and torch are not listed: ``dev/install.py`` pins torch and builds (or keeps) detectron2,
because neither can be resolved correctly by a plain ``pip install`` (see README.md).
"""

import re
from pathlib import Path

from setuptools import find_packages, setup

ROOT = Path(__file__).resolve().parent
PACKAGE_ROOT = "projects/HardSeg"


def get_version():
    init = (ROOT / PACKAGE_ROOT / "hardseg" / "__init__.py").read_text()
    return re.search(r'^__version__ = "([^"]+)"', init, re.M).group(1)


setup(
    name="hardseg",
    version=get_version(),
    description="Semantic-segmentation research toolkit on Detectron2: hardness-level (HL) "
    "loss weighting, confidence-aware contrast, semi-supervised and domain-adaptive training.",
    python_requires=">=3.10",
    package_dir={"": PACKAGE_ROOT},
    packages=find_packages(where=PACKAGE_ROOT),
    install_requires=[
        "numpy>=1.24,<2.4",  # cityscapesscripts 2.3.0 uses np.in1d, gone in numpy 2.4
        "Pillow>=10",
        "opencv-python-headless",
        "scipy",
        "fvcore",
        "iopath",
        "pycocotools",
        "cityscapesscripts",
        "tensorboard",
        "matplotlib",
        "omegaconf",
        "hydra-core",
        "tabulate",
        "setuptools<81",  # detectron2.model_zoo imports pkg_resources
    ],
    extras_require={"test": ["pytest", "pytest-timeout"]},
)
