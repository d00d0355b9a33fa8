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
    "parse_num_labeled",
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


def parse_num_labeled(spec: str, total: int) -> int:
    """``"186"`` -> 186; ``"1/16"`` or ``"1-16"`` -> ``round(total / 16)`` (at least 1);
    ``"0.125"`` -> ``round(0.125 * total)``."""
    s = spec.replace("-", "/")
    if "/" in s:
        num, den = (float(x) for x in s.split("/"))
        n = int(round(total * num / den))
    elif "." in s:
        n = int(round(total * float(s)))
    else:
        n = int(s)
    return max(n, 1)


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


def load_subset(parent: str, list_file: str, labeled: bool) -> List[dict]:
    """The dicts of the registered ``parent`` whose ``image_id`` is listed in ``list_file``, in
    list order; ``sem_seg_file_name`` is dropped unless ``labeled``. Raises KeyError naming the
    ids that ``parent`` does not have."""
    by_id = {d["image_id"]: d for d in DatasetCatalog.get(parent)}
    ids = read_list(list_file)
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
                parent, os.path.join(folder, f"{k}.txt"), k == "labeled"
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
