"""PASCAL VOC 2012 + SBD: prepare (palette PNGs and .mat -> mode-"L" indices, train_aug list) ->
register -> load -> evaluate on a fake tree, and the semi-supervised subsets."""

import numpy as np
import pytest
import scipy.io
from PIL import Image

from detectron2.data import DatasetCatalog, MetadataCatalog

from hardseg.data.datasets.voc import VOC_COLORS
from hardseg.data.prepare import voc as prep
from tests.data.fake_datasets import evaluate, read_label, run, tree_digest, write_gray, write_rgb

H, W = 24, 40
VOC_TRAIN = ["2007_000032"]
VOC_VAL = ["2007_000039", "2007_000033"]
SBD_TRAIN = ["2008_000002", "2007_000033", "2007_000032"]
SBD_VAL = ["2008_000003"]
# (SBD train ∪ SBD val ∪ VOC train) − VOC val, worked out by hand
TRAIN_AUG = ["2007_000032", "2008_000002", "2008_000003"]


def _voc_gt():
    train = np.zeros((H, W), np.uint8)
    train[:, 20:] = 15  # person
    train[0] = 255  # void band
    val39 = train.copy()  # left background, right person, top row void
    val33 = np.ones((H, W), np.uint8)  # aeroplane
    val33[-1] = 255
    return {"2007_000032": train, "2007_000039": val39, "2007_000033": val33}


def _sbd_gt(i):
    seg = np.zeros((H, W), np.uint8)
    seg[5:10, 5:10] = 20 if i == "2008_000003" else 7  # tvmonitor / car
    return seg


def make_fake_voc(root):
    voc = root / "VOCdevkit" / "VOC2012"
    for i in sorted(set(VOC_TRAIN + VOC_VAL + SBD_TRAIN + SBD_VAL)):
        write_rgb(voc / "JPEGImages" / f"{i}.jpg", H, W)
    for i, gt in _voc_gt().items():
        write_gray(voc / "SegmentationClass" / f"{i}.png", gt, mode="P")
    lists = voc / "ImageSets" / "Segmentation"
    lists.mkdir(parents=True)
    (lists / "train.txt").write_text("\n".join(VOC_TRAIN) + "\n")
    (lists / "val.txt").write_text("\n".join(VOC_VAL))  # no final newline, as in some releases
    sbd = root / "benchmark_RELEASE" / "dataset"
    (sbd / "cls").mkdir(parents=True)
    for i in SBD_TRAIN + SBD_VAL:
        scipy.io.savemat(
            sbd / "cls" / f"{i}.mat",
            {
                "GTcls": {
                    "Segmentation": _sbd_gt(i),
                    "Boundaries": np.zeros(1),
                    "CategoriesPresent": 7,
                }
            },
        )
    (sbd / "train.txt").write_text("\n".join(SBD_TRAIN) + "\n")
    (sbd / "val.txt").write_text("\n".join(SBD_VAL) + "\n")
    return voc


@pytest.fixture
def root(tmp_path, monkeypatch):
    make_fake_voc(tmp_path)
    monkeypatch.setenv("DETECTRON2_DATASETS", str(tmp_path))
    return tmp_path


def test_palette_matches_spec():
    assert VOC_COLORS[1] == [128, 0, 0] and VOC_COLORS[2] == [0, 128, 0]
    assert VOC_COLORS[15] == [192, 128, 128] and len(VOC_COLORS) == 21


def test_prepare_register_load_evaluate(root):
    voc = root / "VOCdevkit" / "VOC2012"
    raw = voc / "SegmentationClass" / "2007_000032.png"
    # the fake palette makes convert("L") differ from the index: reading indices matters
    assert Image.open(raw).mode == "P" and np.array(Image.open(raw).convert("L"))[5, 30] != 15
    digest = tree_digest(voc / "SegmentationClass"), tree_digest(root / "benchmark_RELEASE")
    assert run(prep.main, root) == 0
    assert (
        tree_digest(voc / "SegmentationClass"),
        tree_digest(root / "benchmark_RELEASE"),
    ) == digest

    mode, label = read_label(voc / "SegmentationClass_L" / "2007_000032.png")
    assert mode == "L" and label[5, 30] == 15 and label[5, 3] == 0 and label[0, 0] == 255
    mode, label = read_label(voc / "SegmentationClassAug_L" / "2008_000003.png")
    assert mode == "L" and label[7, 7] == 20 and label[20, 20] == 0
    assert read_label(voc / "SegmentationClassAug_L" / "2008_000002.png")[1][7, 7] == 7
    # only SBD images without VOC ground truth are converted from .mat
    assert sorted(p.name for p in (voc / "SegmentationClassAug_L").iterdir()) == [
        "2008_000002.png",
        "2008_000003.png",
    ]
    assert (voc / "ImageSets/SegmentationAug/train_aug.txt").read_text().split() == TRAIN_AUG

    train_aug = DatasetCatalog.get("voc_2012_sem_seg_train_aug")
    assert [d["image_id"] for d in train_aug] == TRAIN_AUG
    assert train_aug[0]["sem_seg_file_name"] == str(voc / "SegmentationClass_L/2007_000032.png")
    assert train_aug[1]["sem_seg_file_name"] == str(voc / "SegmentationClassAug_L/2008_000002.png")
    assert [d["image_id"] for d in DatasetCatalog.get("voc_2012_sem_seg_val")] == VOC_VAL
    train = DatasetCatalog.get("voc_2012_sem_seg_train")
    assert [d["image_id"] for d in train] == VOC_TRAIN
    assert all("SegmentationClass_L" in d["sem_seg_file_name"] for d in train)
    meta = MetadataCatalog.get("voc_2012_sem_seg_val")
    assert len(meta.stuff_classes) == 21 and meta.ignore_label == 255

    # 2007_000039: GT background | person (top row void), predicted all background;
    # 2007_000033: GT aeroplane (bottom row void), predicted aeroplane.
    # background: TP 460, FP 460 -> 0.5; person: TP 0, FN 460 -> 0; aeroplane: 1.
    # mIoU = 1.5 / 3 = 50 %; pACC = (460 + 920) / 1840 = 75 %.
    val = DatasetCatalog.get("voc_2012_sem_seg_val")
    preds = {val[0]["file_name"]: np.zeros((H, W)), val[1]["file_name"]: np.ones((H, W))}
    res = evaluate("voc_2012_sem_seg_val", preds, 21)
    assert res["mIoU"] == pytest.approx(50.0) and res["pACC"] == pytest.approx(75.0)


def test_idempotent_and_check_catches_planted_problems(root, capsys):
    assert run(prep.main, root, workers=2) == 0
    capsys.readouterr()
    assert run(prep.main, root) == 0
    out = capsys.readouterr().out
    assert "VOC SegmentationClass: 3 skipped" in out and "2 skipped" in out
    assert run(prep.main, root, "--check") == 0
    capsys.readouterr()

    voc = root / "VOCdevkit" / "VOC2012"
    bad = voc / "SegmentationClassAug_L" / "2008_000002.png"
    label = read_label(bad)[1].copy()
    label[1, 1] = 21
    write_gray(bad, label)
    palette = voc / "SegmentationClass_L" / "2007_000039.png"
    write_gray(palette, np.zeros((H, W)), mode="P")
    assert run(prep.main, root, "--check") == 1
    out = capsys.readouterr().out
    assert f"{bad}: label value(s) [21] outside [0, 21)" in out
    assert f"{palette}: mode 'P', expected 'L'" in out


def test_missing_sbd_is_reported(root, capsys):
    import shutil

    shutil.rmtree(root / "benchmark_RELEASE")
    assert run(prep.main, root) == 1
    assert "benchmark_RELEASE/dataset does not exist" in capsys.readouterr().out
    with pytest.raises(FileNotFoundError, match="train_aug.txt does not exist"):
        DatasetCatalog.get("voc_2012_sem_seg_train_aug")


def test_semi_supervised_subsets(root, tmp_path, monkeypatch):
    run(prep.main, root)
    splits = tmp_path / "splits" / "u2pl" / "pascal"
    for n, labeled, unlabeled in [
        (92, ["2007_000032"], ["2008_000002", "2008_000003"]),
        (662, ["2008_000002"], ["2007_000032", "2008_000003"]),
    ]:
        (splits / str(n)).mkdir(parents=True)
        (splits / str(n) / "labeled.txt").write_text("\n".join(labeled))
        (splits / str(n) / "unlabeled.txt").write_text("\n".join(unlabeled))
    monkeypatch.setenv("HARDSEG_SPLITS", str(tmp_path / "splits"))
    voc = root / "VOCdevkit" / "VOC2012"
    (lab,) = DatasetCatalog.get("voc_2012_sem_seg_train_aug_classic_92_labeled")
    assert lab["sem_seg_file_name"] == str(voc / "SegmentationClass_L/2007_000032.png")
    unl = DatasetCatalog.get("voc_2012_sem_seg_train_aug_classic_92_unlabeled")
    assert [d["image_id"] for d in unl] == ["2008_000002", "2008_000003"]
    assert all("sem_seg_file_name" not in d for d in unl)
    (lab,) = DatasetCatalog.get("voc_2012_sem_seg_train_aug_blender_1-16_labeled")
    assert lab["sem_seg_file_name"] == str(voc / "SegmentationClassAug_L/2008_000002.png")
    meta = MetadataCatalog.get("voc_2012_sem_seg_train_aug_blender_1-16_labeled")
    assert (meta.num_labeled, meta.protocol) == (662, "blender")
