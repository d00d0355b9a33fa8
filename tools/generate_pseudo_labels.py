#!/usr/bin/env python
"""IAS pseudo-labels for one HIAST round (docs/methods/hiast.md §4).

    python tools/generate_pseudo_labels.py --config-file configs/.../round.yaml \
        --output-dir output/round1/pseudo MODEL.WEIGHTS output/warmup/model_final.pth

Labels ``DATASETS.TRAIN[0]`` (or --dataset) with the model of the config and ``MODEL.WEIGHTS``;
writes ``<output-dir>/labels/<image>.png`` and ``<output-dir>/stats.json``. Refuses a non-empty
output directory unless --overwrite. The labelling order is drawn from --seed; --num-processes N
gives the same files as 1.
"""

import argparse
import logging

import hardseg  # noqa: F401  (registers HardSeg's models and datasets)
from hardseg.engine import setup_cfg
from hardseg.engine.pseudo_labels import generate_pseudo_labels


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--config-file", required=True)
    parser.add_argument("--output-dir", required=True)
    parser.add_argument("--dataset", default="", help="default: DATASETS.TRAIN[0]")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--num-processes", type=int, default=1)
    parser.add_argument("--overwrite", action="store_true")
    parser.add_argument("opts", nargs=argparse.REMAINDER, help="KEY VALUE config overrides")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    cfg = setup_cfg(args.config_file, args.opts)
    stats = generate_pseudo_labels(
        cfg,
        args.output_dir,
        dataset_name=args.dataset,
        seed=args.seed,
        num_processes=args.num_processes,
        overwrite=args.overwrite,
    )
    print(f"thresholds: {[round(t, 4) for t in stats['class_threshold']]}")
    print(f"pseudo-labelled pixels per class: {stats['pixel_counts']}")


if __name__ == "__main__":
    main()
