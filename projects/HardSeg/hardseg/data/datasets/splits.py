"""Semi-supervised labeled/unlabeled splits of any registered dataset: drawing new seeded splits
(``tools/make_splits.py``) and registering them.

A split is a folder ``<n_labeled>/{labeled,unlabeled}.txt`` holding one ``image_id`` (the
``image_id`` field of the parent dataset's dicts) per line. The shipped U2PL lists
(``datasets/splits/u2pl``) are registered by ``cityscapes.py`` and ``voc.py`` in U2PL's own line
format; generated ones live under ``datasets/splits/generated/<dataset>/seed<seed>/<n_labeled>/``
and are registered on request with :func:`register_generated_split`.
"""

import os
from pathlib import Path
from typing import Dict, List, Sequence, Tuple

import numpy as np

from detectron2.data import DatasetCatalog, MetadataCatalog

from .common import read_list, register_lazy, splits_root

__all__ = [
    "draw_split",
    "check_labeled_spec",
    "parse_num_labeled",
    "read_split_list",
    "make_splits",
    "load_subset",
    "register_generated_split",
]


def draw_split(ids: Sequence[str], num_labeled: int, seed: int) -> Tuple[List[str], List[str]]:
    """``num_labeled`` ids drawn without replacement by ``numpy.random.default_rng(seed)``; returns
    (labeled, unlabeled), each sorted. The same ids (in any order), count and seed give the same
    split: ids are sorted before drawing."""
    ids = sorted(ids)
    if len(set(ids)) != len(ids):
        raise ValueError("image ids are not unique; cannot draw a split by id")
    if not 0 < num_labeled <= len(ids):
        raise ValueError(f"num_labeled={num_labeled} must be in [1, {len(ids)}]")
    chosen = np.random.default_rng(seed).permutation(len(ids))[:num_labeled]
    mask = np.zeros(len(ids), bool)
    mask[chosen] = True
    return [i for i, m in zip(ids, mask) if m], [i for i, m in zip(ids, mask) if not m]


def _number(text: str):
    try:
        return float(text)
    except ValueError:
        return None


def check_labeled_spec(spec: str):
    """The value of a labeled-count spec: a positive integer count (``"186"`` -> 186), a fraction
    ``a/b`` or ``a-b`` in (0, 1] (``"1/16"`` -> 0.0625), or a decimal in (0, 1] (``"0.125"``).
    Raises ValueError saying what is wrong and what is accepted (``make_splits.py --labeled``)."""
    accepted = "give a count >= 1 (186), a fraction in (0, 1] (1/16 or 1-16) or a decimal (0.0625)"
    text = spec.strip()
    if text.isdigit() or (text[:1] in "+-" and text[1:].isdigit()):
        if int(text) < 1:
            raise ValueError(f"labeled count {spec!r} is below 1; {accepted}.")
        return int(text)
    parts = text[:1] + text[1:].replace("-", "/")  # "1-16" is "1/16"; "-3" stays negative
    parts = parts.split("/")
    if len(parts) == 2:
        num, den = _number(parts[0]), _number(parts[1])
        if num is None or den is None:
            raise ValueError(f"labeled {spec!r} is not a fraction of two numbers; {accepted}.")
        if den == 0:
            raise ValueError(f"labeled {spec!r} divides by zero; {accepted}.")
        value = num / den
    else:
        value = _number(text) if len(parts) == 1 else None
        if value is None:
            raise ValueError(f"labeled {spec!r} is not a number; {accepted}.")
    if not 0 < value <= 1:
        raise ValueError(f"labeled {spec!r} = {value:g} is not a fraction in (0, 1]; {accepted}.")
    return value


def parse_num_labeled(spec: str, total: int) -> int:
    """``"186"`` -> 186; ``"1/16"`` or ``"1-16"`` -> ``round(total / 16)`` (at least 1);
    ``"0.125"`` -> ``round(0.125 * total)``. Other specs (``0``, ``-3``, ``abc``, ``1/0``, a
    fraction above 1) raise ValueError, see :func:`check_labeled_spec`."""
    value = check_labeled_spec(spec)
    if isinstance(value, int):
        return value
    return max(int(round(total * value)), 1)


def make_splits(
    dataset_name: str, specs: Sequence[str], seed: int, out_root=None
) -> Dict[int, Path]:
    """Draw one split per entry of ``specs`` (counts or fractions, see :func:`parse_num_labeled`)
    of the registered ``dataset_name`` (which is loaded) and write
    ``<out_root>/<dataset_name>/seed<seed>/<n>/{labeled,unlabeled}.txt``. ``out_root`` defaults to
    ``<splits_root>/generated``. Returns ``{n_labeled: folder}``."""
    ids = [d["image_id"] for d in DatasetCatalog.get(dataset_name)]
    out_root = Path(out_root) if out_root is not None else splits_root() / "generated"
    written = {}
    for spec in specs:
        n = parse_num_labeled(spec, len(ids))
        labeled, unlabeled = draw_split(ids, n, seed)
        folder = out_root / dataset_name / f"seed{seed}" / str(n)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "labeled.txt").write_text("".join(f"{i}\n" for i in labeled))
        (folder / "unlabeled.txt").write_text("".join(f"{i}\n" for i in unlabeled))
        written[n] = folder
    return written


def _numbered_ids(path) -> List[Tuple[int, str]]:
    read_list(path)  # FileNotFoundError naming the file
    lines = Path(path).read_text().splitlines()
    return [(n, line.strip()) for n, line in enumerate(lines, 1) if line.strip()]


def read_split_list(path, other=None) -> List[str]:
    """The ids of a split list (one per line, blank lines skipped). Raises ValueError naming the
    file, the id and its lines when an id is listed twice, or when it is also listed in
    ``other`` (the complementary list of the same split: labeled and unlabeled must be
    disjoint)."""
    first = {}
    for n, i in _numbered_ids(path):
        if i in first:
            raise ValueError(
                f"{path}: id {i!r} is listed twice (lines {first[i]} and {n}). A split list "
                "names each image once: remove the duplicate line or redraw the split with "
                "tools/make_splits.py."
            )
        first[i] = n
    if other is not None and os.path.isfile(other):
        for n, i in _numbered_ids(other):
            if i in first:
                raise ValueError(
                    f"id {i!r} is in both lists of a split: {path} line {first[i]} and {other} "
                    f"line {n}. An image is either labeled or unlabeled: remove it from one "
                    "list or redraw the split with tools/make_splits.py."
                )
    return list(first)


def load_subset(parent: str, list_file: str, labeled: bool, other_list=None) -> List[dict]:
    """The dicts of the registered ``parent`` whose ``image_id`` is listed in ``list_file``, in
    list order; ``sem_seg_file_name`` is dropped unless ``labeled``. Raises KeyError naming the
    ids that ``parent`` does not have, ValueError for a duplicate id or an id also listed in
    ``other_list`` (see :func:`read_split_list`)."""
    by_id = {d["image_id"]: d for d in DatasetCatalog.get(parent)}
    ids = read_split_list(list_file, other_list)
    missing = [i for i in ids if i not in by_id]
    if missing:
        raise KeyError(
            f"{list_file}: {len(missing)} id(s) are not in dataset {parent!r}, e.g. {missing[:3]}"
        )
    out = []
    for i in ids:
        d = dict(by_id[i])
        if not labeled:
            d.pop("sem_seg_file_name", None)
        out.append(d)
    return out


def register_generated_split(parent: str, seed: int, num_labeled: int) -> List[str]:
    """Register ``<parent>_seed<seed>_<n>_{labeled,unlabeled}`` from the generated lists in
    ``<splits_root>/generated/<parent>/seed<seed>/<n>/`` (read when loaded). Metadata is the
    parent's (``evaluator_type`` only for the labeled part)."""
    folder = splits_root() / "generated" / parent / f"seed{seed}" / str(num_labeled)
    meta = {
        k: v
        for k, v in MetadataCatalog.get(parent).as_dict().items()
        if k not in ("name", "evaluator_type")
    }
    names = []
    for kind in ("labeled", "unlabeled"):
        name = f"{parent}_seed{seed}_{num_labeled}_{kind}"
        register_lazy(
            name,
            lambda root, k=kind: load_subset(
                parent,
                os.path.join(folder, f"{k}.txt"),
                k == "labeled",
                other_list=os.path.join(
                    folder, "unlabeled.txt" if k == "labeled" else "labeled.txt"
                ),
            ),
            **meta,
            **(
                {"evaluator_type": MetadataCatalog.get(parent).evaluator_type}
                if kind == "labeled" and MetadataCatalog.get(parent).get("evaluator_type")
                else {}
            ),
            num_labeled=num_labeled,
            split_seed=seed,
        )
        names.append(name)
    return names
