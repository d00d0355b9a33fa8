"""Every dataset of the seeds is registered on ``import hardseg``, lazily, with complete metadata,
and a missing dataset explains the expected tree and the prepare command."""

import pytest

from detectron2.data import DatasetCatalog, MetadataCatalog

import hardseg  # noqa: F401  (registers)

CITYSCAPES_SEMI = [
    f"cityscapes_sem_seg_train_{f}_{k}"
    for f in ("1-16", "1-8", "1-4", "1-2")
    for k in ("labeled", "unlabeled")
]
VOC_SEMI = [
    f"voc_2012_sem_seg_train_aug_{p}_{t}_{k}"
    for p, tags in [
        ("classic", ("92", "183", "366", "732", "1464")),
        ("blender", ("1-16", "1-8", "1-4", "1-2")),
    ]
    for t in tags
    for k in ("labeled", "unlabeled")
]
# name -> number of classes
EXPECTED = {
    **{f"cityscapes_fine_sem_seg_{s}": 19 for s in ("train", "val", "test")},
    **{n: 19 for n in CITYSCAPES_SEMI},
    **{f"voc_2012_sem_seg_{s}": 21 for s in ("train", "val", "train_aug")},
    **{n: 21 for n in VOC_SEMI},
    **{f"camvid_sem_seg_{s}": 11 for s in ("train", "val", "test", "trainval")},
    **{f"ade20k_sem_seg_{s}": 150 for s in ("train", "val")},
    **{f"coco_stuff_164k_sem_seg_{s}": 171 for s in ("train", "val")},
    **{f"coco_2017_{s}_stuff_10k_sem_seg": 171 for s in ("train", "test")},
    **{f"pascal_context_{k}_sem_seg_{s}": k for k in (59, 60) for s in ("train", "val")},
    "gta5_sem_seg_train": 19,
    "synthia_sem_seg_train": 19,
    "cityscapes_sem_seg_val_synthia16": 19,
    "cityscapes_sem_seg_val_synthia13": 19,
    "robotcar_sem_seg_train": 9,
    "robotcar_sem_seg_val": 9,
    "cityscapes_sem_seg_train_robot9": 9,
    "cityscapes_sem_seg_val_robot9": 9,
}
UNLABELED = {n for n in EXPECTED if n.endswith("_unlabeled")} | {"robotcar_sem_seg_train"}


def test_every_dataset_is_registered_with_metadata():
    registered = set(DatasetCatalog.list())
    assert not set(EXPECTED) - registered
    for name, k in EXPECTED.items():
        meta = MetadataCatalog.get(name)
        assert len(meta.stuff_classes) == k, name
        assert len(meta.stuff_colors) == k and all(len(c) == 3 for c in meta.stuff_colors), name
        assert meta.ignore_label == 255, name
        if name in UNLABELED:
            assert "evaluator_type" not in meta.as_dict(), name
        else:
            expected_type = (
                "cityscapes_sem_seg" if name.startswith("cityscapes_fine") else "sem_seg"
            )
            assert meta.evaluator_type == expected_type, name


def test_class_tables():
    ade = MetadataCatalog.get("ade20k_sem_seg_val").stuff_classes
    # detectron2's builtin list (docs/methods/datasets.md §5)
    assert ade[0] == "wall" and ade[149] == "flag"
    coco = MetadataCatalog.get("coco_stuff_164k_sem_seg_val")
    assert coco.stuff_classes[11] == "stop sign" and coco.stuff_classes[170] == "wood"
    assert coco.stuff_dataset_id_to_contiguous_id[13] == 11
    assert MetadataCatalog.get("pascal_context_59_sem_seg_val").stuff_classes[58] == "wood"
    robot = MetadataCatalog.get("robotcar_sem_seg_val").stuff_classes
    assert robot == [
        "sky",
        "person",
        "two-wheel",
        "automobile",
        "sign",
        "light",
        "building",
        "sidewalk",
        "road",
    ]


def test_uda_eval_classes():
    # mIoU-16: without terrain 9, truck 14, train 16; mIoU-13: also without wall, fence, pole
    sixteen = [0, 1, 2, 3, 4, 5, 6, 7, 8, 10, 11, 12, 13, 15, 17, 18]
    assert MetadataCatalog.get("cityscapes_sem_seg_val_synthia16").eval_classes == sixteen
    assert MetadataCatalog.get("synthia_sem_seg_train").eval_classes == sixteen
    assert MetadataCatalog.get("cityscapes_sem_seg_val_synthia13").eval_classes == [
        0,
        1,
        2,
        6,
        7,
        8,
        10,
        11,
        12,
        13,
        15,
        17,
        18,
    ]
    # all classes count for GTA5 -> Cityscapes and RobotCar: no key
    for name in ["gta5_sem_seg_train", "cityscapes_fine_sem_seg_val", "robotcar_sem_seg_val"]:
        assert "eval_classes" not in MetadataCatalog.get(name).as_dict()


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_missing_dataset_explains_tree_and_prepare(name, tmp_path, monkeypatch):
    monkeypatch.setenv("DETECTRON2_DATASETS", str(tmp_path / "empty"))  # read at load time
    with pytest.raises(FileNotFoundError) as e:
        DatasetCatalog.get(name)
    msg = str(e.value)
    assert str(tmp_path / "empty") in msg and "DETECTRON2_DATASETS" in msg
    assert "datasets/prepare_" in msg and "datasets/README.md" in msg
