"""Cityscapes: prepare (raw labelIds -> trainIds) -> register -> load -> evaluate, on a fake tree;
U2PL subsets; SYNTHIA / RobotCar views of Cityscapes val."""

import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from detectron2.data import DatasetCatalog, MetadataCatalog

from hardseg.data.datasets.cityscapes import CITYSCAPES_LABEL_ID_LUT
from hardseg.data.prepare import cityscapes as prep
from tests.common import REPO
from tests.data.fake_datasets import evaluate, read_label, run, tree_digest, write_gray, write_rgb

H, W = 32, 64
# (split, city, stem) of the fake tree
FILES = [
    ("train", "aachen", "aachen_000000_000019"),
    ("train", "bremen", "bremen_000001_000019"),
    ("val", "frankfurt", "frankfurt_000000_000294"),
    ("test", "berlin", "berlin_000000_000019"),
]


def _train_raw():
    """Raw labelIds with known pixels (cityscapesscripts labels.py ids)."""
    raw = np.zeros((H, W), np.uint8)
    raw[0:8] = 23  # sky
    raw[8:16] = 26  # car
    raw[16:24] = 7  # road
    raw[24:32, :32] = 1  # ego vehicle
    raw[24:32, 32:] = 33  # bicycle
    raw[0, 0] = 14  # guard rail
    raw[0, 1] = 31  # train
    raw[0, 2] = 29  # caravan
    return raw


# Expected trainIds at those pixels, written out from the table (docs/methods/datasets.md §1).
EXPECTED_TRAIN = {
    (4, 10): 10,  # sky
    (12, 3): 13,  # car
    (20, 60): 0,  # road
    (30, 5): 255,  # ego vehicle
    (30, 40): 18,  # bicycle
    (0, 0): 255,  # guard rail
    (0, 1): 16,  # train
    (0, 2): 255,  # caravan
}


def _val_raw():
    """Top half road (7), bottom half car (26) except its first 8 columns: unlabeled (0)."""
    raw = np.full((H, W), 7, np.uint8)
    raw[16:] = 26
    raw[16:, :8] = 0
    return raw


def make_fake_cityscapes(root):
    base = root / "cityscapes"
    for split, city, stem in FILES:
        write_rgb(base / "leftImg8bit" / split / city / f"{stem}_leftImg8bit.png", H, W)
        raw = {"train": _train_raw(), "val": _val_raw()}.get(split, np.zeros((H, W), np.uint8))
        gt = base / "gtFine" / split / city
        write_gray(gt / f"{stem}_gtFine_labelIds.png", raw)
        # instanceIds: the evaluator globs them (16-bit, here just the label ids)
        Image.fromarray(raw.astype(np.uint16)).save(gt / f"{stem}_gtFine_instanceIds.png")
    return base


@pytest.fixture
def root(tmp_path, monkeypatch):
    make_fake_cityscapes(tmp_path)
    monkeypatch.setenv("DETECTRON2_DATASETS", str(tmp_path))
    return tmp_path


def test_lut_matches_spec_table():
    # every id of the table, and a few ignored ones, written out by hand
    # (docs/methods/datasets.md §1)
    table = {7: 0, 8: 1, 11: 2, 12: 3, 13: 4, 17: 5, 19: 6, 20: 7, 21: 8, 22: 9, 23: 10, 24: 11}
    table.update({25: 12, 26: 13, 27: 14, 28: 15, 31: 16, 32: 17, 33: 18})
    for raw_id in range(34):
        assert CITYSCAPES_LABEL_ID_LUT[raw_id] == table.get(raw_id, 255), raw_id
    assert len(CITYSCAPES_LABEL_ID_LUT) == 34


def test_prepare_register_load_evaluate(root, capsys):
    raw_digest = tree_digest(root / "cityscapes" / "gtFine")
    assert run(prep.main, root, workers=2) == 0  # multiprocessing path
    assert tree_digest(root / "cityscapes" / "gtFine") == raw_digest  # raw files untouched
    out = (
        root
        / "cityscapes/gtFine_trainIds/train/aachen/aachen_000000_000019_gtFine_labelTrainIds.png"
    )
    mode, label = read_label(out)
    assert mode == "L" and label.shape == (H, W)
    for (y, x), train_id in EXPECTED_TRAIN.items():
        assert label[y, x] == train_id, (y, x)
    assert "cityscapes train: 2 converted" in capsys.readouterr().out

    # idempotent: nothing is rewritten
    assert run(prep.main, root) == 0
    assert "2 skipped (already prepared)" in capsys.readouterr().out

    dicts = DatasetCatalog.get("cityscapes_fine_sem_seg_train")
    assert [d["image_id"] for d in dicts] == ["aachen_000000_000019", "bremen_000001_000019"]
    (test,) = DatasetCatalog.get("cityscapes_fine_sem_seg_test")  # images only are needed
    assert test["image_id"] == "berlin_000000_000019" and test["file_name"].endswith(".png")
    assert dicts[0]["sem_seg_file_name"] == str(out)
    assert (dicts[0]["height"], dicts[0]["width"]) == (H, W)

    # prediction: top half road; bottom half car for columns < 48, road after; two road pixels
    # predicted as classes that are absent from the ground truth: terrain (9, outside the
    # SYNTHIA 16 and 13 subsets) and wall (3, outside the 13 subset only). Absent-but-predicted
    # classes score IoU 0 (cityscapesscripts convention), so the three subsets give three values.
    # road: TP 1022, FP 256 (car predicted road), FN 2 -> 1022/1280; car: TP 16*40, FN 16*16 ->
    # 640/896; the 8 unlabeled columns are ignored.
    pred = np.zeros((H, W), np.int64)
    pred[16:, :48] = 13
    pred[0, 0], pred[0, 1] = 9, 3
    road, car = 1022 / 1280, 640 / 896
    (val,) = DatasetCatalog.get("cityscapes_fine_sem_seg_val")
    meta = MetadataCatalog.get("cityscapes_fine_sem_seg_val")
    assert meta.gt_dir == str(root / "cityscapes/gtFine/val")  # follows the root at load time
    assert meta.evaluator_type == "cityscapes_sem_seg" and meta.ignore_label == 255
    res = evaluate("cityscapes_fine_sem_seg_val", {val["file_name"]: pred}, 19)
    assert res["IoU"] == pytest.approx(100 * (road + car) / 4)  # cityscapesscripts, raw labelIds
    for name, n_zero in [
        ("cityscapes_sem_seg_val_synthia16", 1),
        ("cityscapes_sem_seg_val_synthia13", 0),
    ]:
        res = evaluate(name, {val["file_name"]: pred}, 19)  # SemSegEvaluator on the trainIds
        assert res["mIoU"] == pytest.approx(100 * (road + car) / (2 + n_zero)), name


def test_check_reports_every_problem(root, capsys):
    assert run(prep.main, root) == 0
    assert run(prep.main, root, "--check") == 0
    out = capsys.readouterr().out
    assert "note: 2 item(s); the official release has 2975" in out  # a note, not a problem
    assert run(prep.main, root, "--check", "--strict") == 1
    capsys.readouterr()

    prepared = root / "cityscapes/gtFine_trainIds"
    bad = prepared / "train/bremen/bremen_000001_000019_gtFine_labelTrainIds.png"
    label = read_label(bad)[1].copy()
    label[3, 3] = 19  # one past the last class
    write_gray(bad, label)
    small = prepared / "val/frankfurt/frankfurt_000000_000294_gtFine_labelTrainIds.png"
    write_gray(small, np.zeros((H // 2, W), np.uint8))
    assert run(prep.main, root, "--check") == 1
    out = capsys.readouterr().out
    assert f"{bad}: label value(s) [19] outside [0, 19)" in out
    assert f"{small}: size 64x16 differs from its image" in out
    (prepared / "test/berlin/berlin_000000_000019_gtFine_labelTrainIds.png").unlink()
    assert run(prep.main, root, "--check") == 1
    assert "1 trainId label(s) missing" in capsys.readouterr().out


def test_unexpected_raw_id_is_a_problem_and_nothing_is_written(root, capsys):
    raw = _train_raw()
    raw[5, 5] = 40  # Cityscapes ids stop at 33
    path = root / "cityscapes/gtFine/train/aachen/aachen_000000_000019_gtFine_labelIds.png"
    write_gray(path, raw)
    assert run(prep.main, root) == 1
    out = capsys.readouterr().out
    assert f"{path}: raw label value(s) [40] are not in the dataset's id table" in out
    assert not (root / "cityscapes/gtFine_trainIds/train/aachen").exists()


def test_semi_supervised_subsets_use_the_split_lists(root, tmp_path, monkeypatch):
    run(prep.main, root)
    splits = tmp_path / "splits" / "u2pl" / "cityscapes" / "186"
    splits.mkdir(parents=True)
    (splits / "labeled.txt").write_text(
        "leftImg8bit/train/bremen/bremen_000001_000019_leftImg8bit.png"
    )
    (splits / "unlabeled.txt").write_text(
        "leftImg8bit/train/aachen/aachen_000000_000019_leftImg8bit.png\n"
    )
    monkeypatch.setenv("HARDSEG_SPLITS", str(tmp_path / "splits"))
    (lab,) = DatasetCatalog.get("cityscapes_sem_seg_train_1-16_labeled")
    (unl,) = DatasetCatalog.get("cityscapes_sem_seg_train_1-16_unlabeled")
    assert lab["image_id"] == "bremen_000001_000019" and lab["sem_seg_file_name"].endswith(
        "gtFine_trainIds/train/bremen/bremen_000001_000019_gtFine_labelTrainIds.png"
    )
    assert unl["image_id"] == "aachen_000000_000019" and "sem_seg_file_name" not in unl
    assert MetadataCatalog.get("cityscapes_sem_seg_train_1-16_labeled").num_labeled == 186


def test_fallback_to_cityscapesscripts_labels_and_missing_root(tmp_path, monkeypatch):
    monkeypatch.setenv("DETECTRON2_DATASETS", str(tmp_path / "nowhere"))
    with pytest.raises(FileNotFoundError) as e:
        DatasetCatalog.get("cityscapes_sem_seg_train_1-8_labeled")
    assert "prepare_cityscapes.py" in str(e.value) and "gtFine_trainIds/" in str(e.value)
    # labelTrainIds next to the raw files (csCreateTrainIdLabelImgs) are used without a prepare
    base = make_fake_cityscapes(tmp_path)
    for split, city, stem in FILES:
        write_gray(
            base / "gtFine" / split / city / f"{stem}_gtFine_labelTrainIds.png", np.zeros((H, W))
        )
    monkeypatch.setenv("DETECTRON2_DATASETS", str(tmp_path))
    (d,) = DatasetCatalog.get("cityscapes_fine_sem_seg_val")
    assert d["sem_seg_file_name"] == str(
        base / "gtFine/val/frankfurt/frankfurt_000000_000294_gtFine_labelTrainIds.png"
    )


def test_script_runs_as_a_command(root):
    proc = subprocess.run(
        [
            sys.executable,
            str(REPO / "datasets/prepare_cityscapes.py"),
            "--root",
            str(root),
            "--check",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 1  # nothing prepared yet: every label is missing
    assert "trainId label(s) missing" in proc.stdout
