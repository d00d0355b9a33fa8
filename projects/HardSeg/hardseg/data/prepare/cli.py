"""The command line shared by every ``datasets/prepare_<name>.py``.

Each dataset's prepare module provides ``convert(args) -> list[Summary]`` and
``check(args) -> list[Summary]``; :func:`run_prepare` parses the common options, runs one of the
two, prints every summary, and returns the exit status (0 only if no step reported a problem).
"""

import argparse
import logging
import os
import sys
from typing import Callable, List, Optional, Sequence

from .core import Summary

__all__ = ["run_prepare"]


def _parser(description: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=description, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--root",
        default=os.path.expanduser(os.getenv("DETECTRON2_DATASETS", "datasets")),
        help="dataset root (default: $DETECTRON2_DATASETS, else ./datasets)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=os.cpu_count() or 1,
        help="worker processes (default: all CPUs; 1 = no multiprocessing)",
    )
    parser.add_argument(
        "--overwrite", action="store_true", help="rewrite labels that are already prepared"
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="verify the prepared tree (pairs, modes, sizes, label values) instead of converting; "
        "exit status 1 if any problem is found",
    )
    parser.add_argument(
        "--strict",
        action="store_true",
        help="with --check: a split whose size differs from the official release is a problem",
    )
    return parser


def run_prepare(
    description: str,
    convert: Callable[[argparse.Namespace], List[Summary]],
    check: Callable[[argparse.Namespace], List[Summary]],
    argv: Optional[Sequence[str]] = None,
    add_arguments: Optional[Callable[[argparse.ArgumentParser], None]] = None,
) -> int:
    """Parse ``argv``, run ``check`` (``--check``) or ``convert``, print the summaries (stdout),
    return 0 if every summary is free of problems, else 1."""
    parser = _parser(description)
    if add_arguments is not None:
        add_arguments(parser)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    summaries = check(args) if args.check else convert(args)
    for s in summaries:
        print(s.report(), flush=True)
    n_problems = sum(len(s.problems) for s in summaries)
    verb = "check" if args.check else "preparation"
    print(
        f"{verb} of {args.root}: "
        + ("OK" if n_problems == 0 else f"{n_problems} problem(s), see above"),
        file=sys.stdout if n_problems == 0 else sys.stderr,
        flush=True,
    )
    return 0 if n_problems == 0 else 1
