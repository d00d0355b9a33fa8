#!/usr/bin/env python
"""Draw seeded labeled/unlabeled splits of a registered dataset for semi-supervised training.

    python tools/make_splits.py --dataset cityscapes_fine_sem_seg_train --labeled 1/16 1/8 186 \
        --seed 1 [--out datasets/splits/generated]

writes ``<out>/<dataset>/seed<seed>/<n_labeled>/{labeled,unlabeled}.txt`` (one image_id per line).
Register a split in code with
``hardseg.data.datasets.splits.register_generated_split(dataset, seed, n_labeled)``, which gives
``<dataset>_seed<seed>_<n>_{labeled,unlabeled}``. The logic lives in hardseg.data.datasets.splits.
"""

import argparse

import hardseg  # noqa: F401  (registers the datasets)
from hardseg.data.datasets.splits import check_labeled_spec, make_splits


def labeled_spec(text: str) -> str:
    """argparse type of ``--labeled``: the spec unchanged if valid, else a usage error."""
    try:
        check_labeled_spec(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None
    return text


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", required=True, help="a registered dataset name")
    parser.add_argument(
        "--labeled",
        nargs="+",
        required=True,
        type=labeled_spec,
        help="labeled counts (186) or fractions (1/16, 1-16, 0.0625) of the dataset",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=None, help="default: datasets/splits/generated")
    args = parser.parse_args(argv)
    for n, folder in make_splits(args.dataset, args.labeled, args.seed, args.out).items():
        print(f"{n} labeled: {folder}/{{labeled,unlabeled}}.txt")


if __name__ == "__main__":
    main()
