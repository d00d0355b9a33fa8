#!/usr/bin/env python
"""The whole HIAST chain: source only -> (adversarial warm-up) -> self-training rounds 1..R
(docs/methods/hiast.md §3); rerun the same command to continue an interrupted chain.

    python tools/run_self_training.py --output-dir output/hiast_hardshapes \
        --source-config configs/hardshapes/uda/deeplabv2_R18_source_only_tiny.yaml \
        --round-config configs/hardshapes/uda/hiast_deeplabv2_R18_round_tiny.yaml

Trailing ``KEY VALUE`` pairs override every stage's config (e.g. ``MODEL.DEVICE cpu``);
``--round-opts KEY VALUE ... --`` (last of the options) override the rounds only.
"""

import argparse

import hardseg  # noqa: F401  (registers HardSeg's models and datasets)
from hardseg.engine.self_training import run_chain


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--output-dir", required=True)
    parser.add_argument("--source-config", required=True, help="stage 0 (source only)")
    parser.add_argument("--warmup-config", default="", help="stage 1 (adversarial warm-up)")
    parser.add_argument("--round-config", required=True, help="one self-training round")
    parser.add_argument("--seed", type=int, default=0, help="order of the IAS labelling passes")
    parser.add_argument("--stop-after", default=None, help="stage0, stage1 or round<r>")
    parser.add_argument(
        "--round-opts",
        nargs="*",
        default=[],
        help="KEY VALUE overrides of the rounds only (after the trailing ones); end with --",
    )
    parser.add_argument("opts", nargs=argparse.REMAINDER, help="KEY VALUE overrides")
    args = parser.parse_args(argv)
    final = run_chain(
        out=args.output_dir,
        source_config=args.source_config,
        round_config=args.round_config,
        warmup_config=args.warmup_config,
        opts=[o for o in args.opts if o != "--"],
        round_opts=args.round_opts,
        seed=args.seed,
        stop_after=args.stop_after,
    )
    print(f"final student: {final}")


if __name__ == "__main__":
    main()
