"""Tests of the embedded procedural dataset ``hardshapes`` (CPU only, a few seconds)."""

import os
import threading
import uuid
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image
from scipy import ndimage

from detectron2.data import DatasetCatalog, MetadataCatalog

from hardseg.data.datasets import hardshapes as hs

NUM_CLASSES = len(hs.HARDSHAPES_CLASSES)
SMALL_SPLITS = {"train": 3, "val": 5}


def _read(path):
    with Image.open(path) as im:
        return im.mode, np.asarray(im)


def _val_labels(domain_dir):
    files = sorted((domain_dir / "labels" / "val").glob("*.png"))
    return [_read(f)[1] for f in files]


def _val_pairs(domain_dir):
    files = sorted((domain_dir / "images" / "val").glob("*.png"))
    return [(_read(f)[1], _read(domain_dir / "labels" / "val" / f.name)[1]) for f in files]


@pytest.fixture(scope="module")
def full_root(tmp_path_factory):
    """One full copy of both domains (train 400 + val 80 each), shared by the module."""
    root = tmp_path_factory.mktemp("hardshapes_full")
    for domain in hs.HARDSHAPES_DOMAINS:
        hs.ensure_hardshapes(root, domain)
    return root


def test_constants():
    assert hs.HARDSHAPES_CLASSES == ["sky", "ground", "building", "pole", "wire", "crack", "stone"]
    assert hs.HARDSHAPES_IGNORE_LABEL == 255
    assert len(hs.HARDSHAPES_COLORS) == NUM_CLASSES
    assert len({tuple(c) for c in hs.HARDSHAPES_COLORS}) == NUM_CLASSES
    assert set(hs.HARDSHAPES_THIN_CLASSES) == {"pole", "wire", "crack"}
    assert set(hs.HARDSHAPES_SMALL_CLASSES) == {"stone"}
    assert hs.HARDSHAPES_THIN_CLASS_IDS == (3, 4, 5)
    assert hs.HARDSHAPES_SMALL_CLASS_IDS == (6,)
    assert hs.HARDSHAPES_SPLIT_SIZES == {"train": 400, "val": 80}
    assert (hs.HARDSHAPES_HEIGHT, hs.HARDSHAPES_WIDTH) == (128, 128)


def test_determinism_and_order_independence(tmp_path, full_root):
    a = hs.ensure_hardshapes(tmp_path / "a", "source", split_sizes=SMALL_SPLITS)
    b = hs.ensure_hardshapes(tmp_path / "b", "source", split_sizes=SMALL_SPLITS)
    for split, n in SMALL_SPLITS.items():
        for i in range(n):
            for kind in ("images", "labels"):
                rel = Path(kind) / split / f"{i:05d}.png"
                x, y = _read(a / rel)[1], _read(b / rel)[1]
                np.testing.assert_array_equal(x, y)
                # a sample does not depend on how many samples were generated
                np.testing.assert_array_equal(x, _read(full_root / "hardshapes" / rel)[1])
    # another seed gives other data
    c = hs.ensure_hardshapes(tmp_path / "c", "source", seed=1, split_sizes=SMALL_SPLITS)
    rel = Path("labels") / "val" / "00000.png"
    assert not np.array_equal(_read(a / rel)[1], _read(c / rel)[1])


def test_format_and_class_coverage(full_root):
    domain_dir = full_root / "hardshapes"
    for split, n in hs.HARDSHAPES_SPLIT_SIZES.items():
        assert len(list((domain_dir / "images" / split).glob("*.png"))) == n
        assert len(list((domain_dir / "labels" / split).glob("*.png"))) == n
    pairs = _val_pairs(domain_dir)
    for f in sorted((domain_dir / "images" / "val").glob("*.png"))[:5]:
        mode, img = _read(f)
        assert mode == "RGB" and img.dtype == np.uint8 and img.shape == (128, 128, 3)
        mode, lbl = _read(domain_dir / "labels" / "val" / f.name)
        assert mode == "L" and lbl.dtype == np.uint8 and lbl.shape == (128, 128)

    labels = np.stack([lbl for _, lbl in pairs])
    assert set(np.unique(labels)) <= set(range(NUM_CLASSES)) | {255}
    # every class occurs in most images; some pixels are ignored
    present = np.array([[np.any(lbl == c) for c in range(NUM_CLASSES)] for lbl in labels])
    assert present.mean(0).min() >= 0.8, present.mean(0)
    assert (labels == 255).any()
    # large classes dominate, thin/small ones are a few percent
    freq = np.array([(labels == c).mean() for c in range(NUM_CLASSES)])
    assert freq[list(hs.HARDSHAPES_LARGE_CLASS_IDS)].sum() > 0.85
    for c in hs.HARDSHAPES_THIN_CLASS_IDS + hs.HARDSHAPES_SMALL_CLASS_IDS:
        assert 0.001 < freq[c] < 0.03, (hs.HARDSHAPES_CLASSES[c], freq[c])


def test_thin_classes_are_thin(full_root):
    kernel = np.ones((5, 5), np.uint8)
    for c in hs.HARDSHAPES_THIN_CLASS_IDS:
        total = kept = 0
        for lbl in _val_labels(full_root / "hardshapes"):
            mask = (lbl == c).astype(np.uint8)
            total += int(mask.sum())
            kept += int(cv2.morphologyEx(mask, cv2.MORPH_OPEN, kernel).sum())
        assert total > 0
        assert kept <= 0.01 * total, (hs.HARDSHAPES_CLASSES[c], kept, total)


def test_stones_are_small_components(full_root):
    areas = []
    for lbl in _val_labels(full_root / "hardshapes"):
        components, n = ndimage.label(lbl == hs.HARDSHAPES_CLASSES.index("stone"))
        areas.extend(np.bincount(components.ravel())[1:].tolist())
    assert len(areas) >= 80  # several stones per image
    assert max(areas) <= 100  # radius <= 5 px discs
    assert np.median(areas) <= 50


def test_ignore_pixels_come_from_ego_band_and_stone_rims(full_root):
    labels = _val_labels(full_root / "hardshapes")
    stone = hs.HARDSHAPES_CLASSES.index("stone")
    ego = sum(bool(np.all(lbl[-1] == 255)) for lbl in labels)
    assert 0.1 * len(labels) <= ego <= 0.6 * len(labels)
    rims = 0
    for lbl in labels:
        near_stone = cv2.dilate((lbl == stone).astype(np.uint8), np.ones((3, 3), np.uint8)).astype(
            bool
        )
        rims += int(np.sum((lbl == 255) & near_stone))
    assert rims > 100


def test_shifted_domain_has_same_classes_but_other_style(full_root):
    src = _val_pairs(full_root / "hardshapes")
    tgt = _val_pairs(full_root / "hardshapes_shifted")
    src_labels = np.stack([lbl for _, lbl in src])
    tgt_labels = np.stack([lbl for _, lbl in tgt])
    # same kind of label statistics
    assert set(np.unique(tgt_labels)) == set(np.unique(src_labels))
    for c in range(NUM_CLASSES):
        fs, ft = (src_labels == c).mean(), (tgt_labels == c).mean()
        assert abs(fs - ft) < 0.05 + 0.5 * fs, (hs.HARDSHAPES_CLASSES[c], fs, ft)
    # other geometry (another seed stream), not recoloured copies
    assert not any(np.array_equal(a, b) for a, b in zip(src_labels, tgt_labels))

    def mean_rgb(pairs, cls):
        return np.concatenate([img[lbl == cls] for img, lbl in pairs]).astype(np.float64).mean(0)

    for cls, margin in ((0, 40.0), (1, 20.0)):  # sky, ground
        diff = np.linalg.norm(mean_rgb(src, cls) - mean_rgb(tgt, cls))
        assert diff > margin, (hs.HARDSHAPES_CLASSES[cls], diff)

    # stronger noise / blur: a different local texture statistic as well
    def high_freq(pairs):
        return np.mean(
            [np.abs(cv2.Laplacian(img.astype(np.float32), cv2.CV_32F)).mean() for img, _ in pairs]
        )

    assert abs(high_freq(src) - high_freq(tgt)) > 1.0


def test_registration_does_not_touch_disk(tmp_path):
    root = tmp_path / "not_there"
    prefix = f"hardshapes_t{uuid.uuid4().hex[:8]}"
    names = hs.register_all_hardshapes(root, prefix=prefix)
    try:
        assert names == [
            f"{prefix}{s}_sem_seg_{p}" for s in ("", "_shifted") for p in ("train", "val")
        ]
        assert not root.exists()
    finally:
        for name in names:
            DatasetCatalog.remove(name)
            MetadataCatalog.remove(name)


def test_builtin_names_are_registered():
    import hardseg.data  # noqa: F401

    registered = set(DatasetCatalog.list())
    for name in (
        "hardshapes_sem_seg_train",
        "hardshapes_sem_seg_val",
        "hardshapes_shifted_sem_seg_train",
        "hardshapes_shifted_sem_seg_val",
    ):
        assert name in registered
    meta = MetadataCatalog.get("hardshapes_shifted_sem_seg_val")
    assert meta.domain == "shifted"
    expected_root = os.path.expanduser(os.environ.get("DETECTRON2_DATASETS", "datasets"))
    assert meta.image_root == os.path.join(expected_root, "hardshapes_shifted", "images", "val")


def test_loader_and_metadata(full_root):
    prefix = f"hardshapes_t{uuid.uuid4().hex[:8]}"
    names = hs.register_all_hardshapes(full_root, prefix=prefix)
    try:
        for name in names:
            domain = "shifted" if "_shifted_" in name else "source"
            split = name.rsplit("_", 1)[1]
            dicts = DatasetCatalog.get(name)
            assert len(dicts) == hs.HARDSHAPES_SPLIT_SIZES[split]
            assert [d["file_name"] for d in dicts] == sorted(d["file_name"] for d in dicts)
            assert len({d["image_id"] for d in dicts}) == len(dicts)
            for d in dicts[:3] + dicts[-1:]:
                assert set(d) == {"file_name", "sem_seg_file_name", "height", "width", "image_id"}
                assert os.path.isfile(d["file_name"]) and os.path.isfile(d["sem_seg_file_name"])
                assert os.path.basename(d["file_name"]) == os.path.basename(d["sem_seg_file_name"])
                assert (d["height"], d["width"]) == (128, 128)
            meta = MetadataCatalog.get(name)
            assert meta.stuff_classes == hs.HARDSHAPES_CLASSES
            assert len(meta.stuff_colors) == NUM_CLASSES
            assert all(len(c) == 3 for c in meta.stuff_colors)
            assert meta.ignore_label == 255
            assert meta.evaluator_type == "sem_seg"
            assert meta.domain == domain
            assert os.path.dirname(dicts[0]["file_name"]) == meta.image_root
            assert os.path.dirname(dicts[0]["sem_seg_file_name"]) == meta.sem_seg_root
    finally:
        for name in names:
            DatasetCatalog.remove(name)
            MetadataCatalog.remove(name)


def test_ensure_is_noop_when_complete(full_root):
    def snapshot():
        return {p: p.stat().st_mtime_ns for p in full_root.rglob("*")}

    before = snapshot()
    marker = full_root / "hardshapes" / ".complete"
    assert marker.is_file() and "seed=0" in marker.read_text()
    for domain in hs.HARDSHAPES_DOMAINS:
        assert hs.ensure_hardshapes(full_root, domain) == full_root / hs.HARDSHAPES_DOMAINS[domain]
    assert snapshot() == before
    assert sorted(p.name for p in full_root.iterdir()) == ["hardshapes", "hardshapes_shifted"]


def test_stale_copy_is_replaced(tmp_path):
    target = hs.ensure_hardshapes(tmp_path, "shifted", split_sizes=SMALL_SPLITS)
    (target / ".complete").write_text("hardshapes generator v0\n")
    (target / "leftover.txt").write_text("x")
    assert hs.ensure_hardshapes(tmp_path, "shifted", split_sizes=SMALL_SPLITS) == target
    assert not (target / "leftover.txt").exists()
    assert "seed=0" in (target / ".complete").read_text()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["hardshapes_shifted"]


def test_concurrent_generation_uses_one_copy(tmp_path):
    barrier = threading.Barrier(2)
    results, errors = [], []

    def worker():
        try:
            barrier.wait()
            results.append(hs.ensure_hardshapes(tmp_path, "source", split_sizes=SMALL_SPLITS))
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert results == [tmp_path / "hardshapes"] * 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["hardshapes"]  # no temporary leftovers
    assert (
        len(list((tmp_path / "hardshapes" / "labels" / "val").glob("*.png"))) == SMALL_SPLITS["val"]
    )


# sha256 of the "standard" renders of train 0..5 of both domains (images, then labels), recorded
# from the generator before the rendering profiles were added: the profiles must not change it.
STANDARD_SHA256 = "37107fb46ded35bc94bcb7006976e498fffe434fe5127df4f758f6b01b97268b"


def test_standard_profile_is_unchanged():
    import hashlib

    h = hashlib.sha256()
    for domain in ("source", "shifted"):
        for i in range(6):
            img, lbl = hs.render_hardshapes_sample(domain, "train", i, 0)
            h.update(img.tobytes())
            h.update(lbl.tobytes())
    assert h.hexdigest() == STANDARD_SHA256


def test_evidence_profile_has_the_same_buildings_and_bigger_hard_classes():
    SKY, GROUND, BUILDING, POLE, WIRE, CRACK, STONE = range(7)
    counts = {"standard": np.zeros(NUM_CLASSES), "evidence": np.zeros(NUM_CLASSES)}
    for i in range(20):
        std_img, std = hs.render_hardshapes_sample("source", "val", i, 0)
        ev_img, ev = hs.render_hardshapes_sample("source", "val", i, 0, profile="evidence")
        assert ev_img.shape == std_img.shape and ev.dtype == std.dtype
        # the same buildings: they differ only where the (wider) poles and wires cover them
        assert np.isin(std[(ev == BUILDING)], (BUILDING, POLE, WIRE)).all()
        assert np.isin(ev[(std == BUILDING) & (ev != BUILDING)], (POLE, WIRE)).all()
        for name, lbl in (("standard", std), ("evidence", ev)):
            counts[name] += np.bincount(lbl[lbl != 255].ravel(), minlength=NUM_CLASSES)
    for c in (POLE, WIRE, CRACK, STONE):
        assert counts["evidence"][c] > 1.5 * counts["standard"][c], hs.HARDSHAPES_CLASSES[c]
    with pytest.raises(ValueError, match="profile"):
        hs.render_hardshapes_sample("source", "val", 0, 0, profile="nope")


def test_evidence_profile_is_registered_in_its_own_directory(tmp_path):
    import hardseg.data  # noqa: F401

    for name in (
        "hardshapes_evidence_sem_seg_train",
        "hardshapes_evidence_sem_seg_val",
        "hardshapes_evidence_shifted_sem_seg_train",
        "hardshapes_evidence_shifted_sem_seg_val",
        "hardshapes_evidence_sem_seg_train_1-16_labeled",
        "hardshapes_evidence_sem_seg_train_1-16_unlabeled",
    ):
        assert name in DatasetCatalog.list()
    assert MetadataCatalog.get("hardshapes_evidence_shifted_sem_seg_val").profile == "evidence"
    d = hs.ensure_hardshapes(tmp_path, "shifted", profile="evidence")
    assert d == tmp_path / "hardshapes_evidence_shifted"
    assert "profile=evidence" in (d / ".complete").read_text()
    _, lbl = _read(d / "labels" / "val" / "00002.png")
    np.testing.assert_array_equal(
        lbl, hs.render_hardshapes_sample("shifted", "val", 2, 0, profile="evidence")[1]
    )
    dicts = hs.load_hardshapes(tmp_path, "shifted", "val", profile="evidence")
    assert len(dicts) == hs.HARDSHAPES_SPLIT_SIZES["val"]
    assert dicts[0]["image_id"].startswith("hardshapes_evidence_shifted_val_")
