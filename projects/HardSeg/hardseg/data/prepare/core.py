"""Shared machinery of ``datasets/prepare_<name>.py``: parallel conversion with a progress bar,
a summary, and the ``--check`` verification of a prepared tree.

A dataset's prepare module lists :class:`LabelJob` s (raw label -> prepared label, plus the image
it belongs to) and gives a *reader*: a picklable top-level function ``read(path) -> (H, W) uint8``
train ids that raises :class:`UnexpectedLabelValues` on a raw value its table does not know.
:func:`convert_labels` then does the rest: it skips labels already written (idempotent), checks
the label size against the image, writes mode-"L" PNGs atomically, and returns a :class:`Summary`.
"""

import logging
import multiprocessing
import os
import re
from dataclasses import dataclass, field
from typing import Callable, Iterable, List, Optional, Sequence, Tuple

import numpy as np
from PIL import Image
from tqdm import tqdm

__all__ = [
    "LabelJob",
    "Summary",
    "UnexpectedLabelValues",
    "apply_lut",
    "read_index_png",
    "parallel_map",
    "convert_labels",
    "remove_stale_temporaries",
    "check_dataset_dicts",
]

logger = logging.getLogger(__name__)


class UnexpectedLabelValues(ValueError):
    """A raw label holds values that the dataset's id table does not define."""

    def __init__(self, path: str, values: Sequence[int]):
        self.values = sorted(int(v) for v in values)
        super().__init__(
            f"{path}: raw label value(s) {self.values[:10]} are not in the dataset's id table "
            "(wrong release or version, or a corrupt file)."
        )


def apply_lut(raw: np.ndarray, lut: np.ndarray, path: str) -> np.ndarray:
    """Map raw ids through ``lut`` (see ``make_lut``): returns (H, W) uint8 train ids.

    Raises :class:`UnexpectedLabelValues` for values outside ``[0, len(lut))`` or whose entry is
    ``-1``."""
    raw = np.asarray(raw)
    if raw.ndim != 2:
        raise ValueError(f"{path}: expected a single-channel label, got shape {raw.shape}.")
    values = np.unique(raw)
    bad = values[(values < 0) | (values >= len(lut))]
    known = values[(values >= 0) & (values < len(lut))]
    bad = np.concatenate([bad, known[lut[known] < 0]])
    if bad.size:
        raise UnexpectedLabelValues(path, bad)
    return lut[raw.astype(np.int64)].astype(np.uint8)


def read_index_png(path: str) -> np.ndarray:
    """A label PNG as its stored values, (H, W): a palette ("P") image gives its indices, never
    ``convert("L")`` luminance (docs/methods/datasets.md §0.2).
    Multi-channel images are rejected."""
    with Image.open(path) as img:
        if img.mode not in ("L", "P", "I", "I;16", "1"):
            raise ValueError(
                f"{path}: expected a single-channel or palette label PNG, got mode {img.mode}."
            )
        return np.array(img)


@dataclass(frozen=True)
class LabelJob:
    """One raw label -> one prepared label.

    ``src``: the raw label file (any format the dataset's reader understands).
    ``dst``: where the prepared label goes: a mode-"L" PNG of train ids, 255 = ignore.
    ``image``: the image the label belongs to; the label must have its size (None: not checked).
    ``key``: a short name for reports (default: ``src``).
    """

    src: str
    dst: str
    image: Optional[str] = None
    key: Optional[str] = None


@dataclass
class Summary:
    """Outcome of one conversion or check step: counts, problems (each naming its file), notes."""

    title: str
    converted: int = 0
    skipped: int = 0
    checked: int = 0
    problems: List[str] = field(default_factory=list)
    notes: List[str] = field(default_factory=list)
    # keys of the jobs that failed (e.g. a GTA5 size mismatch), for exclusion lists
    failed_keys: List[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def report(self, max_problems: Optional[int] = None) -> str:
        """Counts, then one line per note and per problem (all of them unless ``max_problems``)."""
        counts = [
            f"{n} {what}"
            for n, what in [
                (self.converted, "converted"),
                (self.skipped, "skipped (already prepared)"),
                (self.checked, "checked"),
            ]
            if n
        ]
        lines = [
            f"{self.title}: {', '.join(counts) or 'nothing to do'}; {len(self.problems)} problem(s)"
        ]
        lines += [f"  note: {n}" for n in self.notes]
        lines += [f"  problem: {p}" for p in self.problems[:max_problems]]
        if max_problems is not None and len(self.problems) > max_problems:
            lines.append(f"  ... and {len(self.problems) - max_problems} more problem(s)")
        return "\n".join(lines)


def parallel_map(fn: Callable, items: Sequence, workers: int, desc: str) -> Iterable:
    """``fn(item)`` for every item, in order, with a tqdm progress bar (stderr).

    ``workers > 1`` uses a multiprocessing pool (``fn`` and the items must be picklable); 1 runs in
    this process."""
    items = list(items)
    bar = dict(total=len(items), desc=desc, unit="file", leave=False, mininterval=1.0)
    if workers <= 1 or len(items) <= 1:
        yield from tqdm(map(fn, items), **bar)
        return
    chunksize = max(1, min(64, len(items) // (workers * 8)))
    # fork starts workers in milliseconds on Linux; elsewhere use the platform's default
    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else None
    with multiprocessing.get_context(method).Pool(min(workers, len(items))) as pool:
        yield from tqdm(pool.imap(fn, items, chunksize=chunksize), **bar)


def _image_size(path: str) -> Tuple[int, int]:
    with Image.open(path) as img:
        return img.height, img.width


# A label is written to ``.<name>.tmp<pid>`` next to its destination, then renamed. The name is
# hidden and has no image suffix, so a loader that pairs files by suffix never picks up the
# leftover of an interrupted run; the next run removes such leftovers (both this pattern and the
# ``<name>.tmp<pid>.png`` one that older versions wrote) in the folders it writes to.
_TMP_NAME = re.compile(r"^\..+\.tmp\d+$")
_OLD_TMP_NAME = re.compile(r"^.+\.tmp\d+\.png$")


def _tmp_path(dst: str) -> str:
    folder, name = os.path.split(dst)
    return os.path.join(folder, f".{name}.tmp{os.getpid()}")


def remove_stale_temporaries(folders: Iterable[str]) -> List[str]:
    """Delete the temporary label files that an interrupted conversion left in ``folders``
    (see ``_TMP_NAME``); returns their paths. Folders that do not exist are skipped."""
    removed = []
    for folder in sorted(set(folders)):
        if not os.path.isdir(folder):
            continue
        for entry in os.scandir(folder):
            if entry.is_file() and (_TMP_NAME.match(entry.name) or _OLD_TMP_NAME.match(entry.name)):
                os.remove(entry.path)
                removed.append(entry.path)
    return removed


def _write_label(label: np.ndarray, dst: str) -> None:
    os.makedirs(os.path.dirname(dst) or ".", exist_ok=True)
    tmp = _tmp_path(dst)
    try:
        Image.fromarray(label, mode="L").save(tmp, format="PNG")
        os.replace(tmp, dst)  # atomic: an interrupted run never leaves a truncated label behind
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def _convert_one(args) -> Tuple[str, str, str]:
    job, reader, overwrite = args
    key = job.key or job.src
    if not overwrite and os.path.isfile(job.dst):
        return "skipped", key, ""
    try:
        label = reader(job.src)
        if label.dtype != np.uint8 or label.ndim != 2:
            raise TypeError(f"{job.src}: the reader returned {label.dtype} {label.shape}")
        if job.image is not None:
            size = _image_size(job.image)
            if label.shape != size:
                return (
                    "problem",
                    key,
                    (
                        f"{key}: label {job.src} is {label.shape[1]}x{label.shape[0]} (WxH) "
                        f"but its image {job.image} is {size[1]}x{size[0]}; label not written"
                    ),
                )
        _write_label(label, job.dst)
    except (OSError, ValueError, TypeError, KeyError) as e:
        return "problem", key, f"{key}: {e}"
    return "converted", key, ""


def convert_labels(
    title: str,
    jobs: Sequence[LabelJob],
    reader: Callable[[str], np.ndarray],
    workers: int = 1,
    overwrite: bool = False,
) -> Summary:
    """Convert every job's raw label with ``reader`` and write it as a mode-"L" PNG.

    Temporary files that an interrupted run left in the output folders are removed first (a
    note says so). Existing outputs are skipped unless ``overwrite``. A job fails, and is listed in the summary's
    problems and ``failed_keys``, when the reader raises or the label size differs from its image;
    nothing is written for it. Raw files are only read."""
    summary = Summary(title)
    stale = remove_stale_temporaries(os.path.dirname(job.dst) or "." for job in jobs)
    if stale:
        summary.notes.append(
            f"removed {len(stale)} temporary file(s) left by an interrupted run, e.g. {stale[0]}"
        )
    results = parallel_map(
        _convert_one, [(job, reader, overwrite) for job in jobs], workers, desc=title
    )
    for status, key, detail in results:
        if status == "converted":
            summary.converted += 1
        elif status == "skipped":
            summary.skipped += 1
        else:
            summary.problems.append(detail)
            summary.failed_keys.append(key)
    return summary


def _check_one(args) -> List[str]:
    d, num_classes, ignore_label = args
    label_file, image_file = d.get("sem_seg_file_name"), d["file_name"]
    problems = []
    image_ok = os.path.isfile(image_file)
    if not image_ok:
        problems.append(f"{image_file}: image missing")
    if label_file is None:
        return problems
    try:
        with Image.open(label_file) as img:
            mode = img.mode
            label = np.array(img)
    except OSError as e:
        return problems + [f"{label_file}: cannot be read ({e})"]
    if mode != "L":
        problems.append(f"{label_file}: mode {mode!r}, expected 'L' (raw train ids)")
    if image_ok and _image_size(image_file) != label.shape[:2]:
        h, w = _image_size(image_file)
        problems.append(
            f"{label_file}: size {label.shape[1]}x{label.shape[0]} differs from its image "
            f"{image_file} ({w}x{h})"
        )
    values = np.unique(label)
    bad = values[(values >= num_classes) & (values != ignore_label)]
    if bad.size:
        problems.append(
            f"{label_file}: label value(s) {bad.tolist()[:10]} outside [0, {num_classes}) and "
            f"ignore {ignore_label}"
        )
    return problems


def check_dataset_dicts(
    title: str,
    load: Callable[[], List[dict]],
    num_classes: int,
    ignore_label: int = 255,
    expected_count: Optional[int] = None,
    strict_count: bool = False,
    workers: int = 1,
) -> Summary:
    """Verify what a registered dataset would load: ``load()`` succeeds (the tree is complete and
    images pair with labels), every label is mode "L", has its image's size and holds only
    ``[0, num_classes)`` and ``ignore_label``. The number of items is compared with
    ``expected_count`` (the official size): a note, or a problem if ``strict_count``."""
    summary = Summary(title)
    try:
        dicts = load()
    except (OSError, ValueError) as e:
        summary.problems.append(str(e))
        return summary
    if expected_count is not None and len(dicts) != expected_count:
        msg = f"{len(dicts)} item(s); the official release has {expected_count}"
        (summary.problems if strict_count else summary.notes).append(msg)
    jobs = [(d, num_classes, ignore_label) for d in dicts]
    for problems in parallel_map(_check_one, jobs, workers, desc=title):
        summary.checked += 1
        summary.problems.extend(problems)
    return summary
