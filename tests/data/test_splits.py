"""The shipped U2PL split lists (counts, disjointness, unions) and seeded split drawing."""

import importlib.util

import pytest

from detectron2.data import DatasetCatalog, MetadataCatalog

from hardseg.data.datasets.common import read_list, splits_root
from hardseg.data.datasets.splits import (
    draw_split,
    load_subset,
    parse_num_labeled,
    register_generated_split,
)
from tests.common import REPO

U2PL = REPO / "datasets" / "splits" / "u2pl"
# Cityscapes train cities (docs/methods/datasets.md §1)
TRAIN_CITIES = set(
    "aachen bochum bremen cologne darmstadt dusseldorf erfurt hamburg hanover jena krefeld "
    "monchengladbach strasbourg stuttgart tubingen ulm weimar zurich".split()
)


def _pair(folder):
    return read_list(folder / "labeled.txt"), read_list(folder / "unlabeled.txt")


def test_shipped_lists_are_found_by_default(monkeypatch):
    monkeypatch.delenv("HARDSEG_SPLITS", raising=False)
    assert splits_root() == REPO / "datasets" / "splits"
    assert "Apache-2.0" in (U2PL / "README.md").read_text()


@pytest.mark.parametrize("n,n_unlabeled", [(186, 2789), (372, 2603), (744, 2231), (1488, 1487)])
def test_cityscapes_splits(n, n_unlabeled):
    labeled, unlabeled = _pair(U2PL / "cityscapes" / str(n))
    assert (len(labeled), len(unlabeled)) == (n, n_unlabeled)
    assert len(set(labeled)) == n and len(set(unlabeled)) == n_unlabeled  # no duplicates
    assert not set(labeled) & set(unlabeled)
    union = set(labeled) | set(unlabeled)
    assert len(union) == 2975  # = the Cityscapes train set ...
    assert {line.split("/")[2] for line in union} == TRAIN_CITIES  # ... its 18 cities
    assert all(line.startswith("leftImg8bit/train/") for line in union)
    # the same 2975 images for every fraction, and none of the 500 val images
    assert union == set().union(*_pair(U2PL / "cityscapes" / "186"))
    val = set(read_list(U2PL / "cityscapes" / "val.txt"))
    assert len(val) == 500 and not val & union


CLASSIC = [(92, 10490), (183, 10399), (366, 10216), (732, 9850), (1464, 9118)]
BLENDER = [(662, 9920), (1323, 9259), (2646, 7936), (5291, 5291)]


@pytest.mark.parametrize("n,n_unlabeled", CLASSIC + BLENDER)
def test_voc_splits(n, n_unlabeled):
    labeled, unlabeled = _pair(U2PL / "pascal" / str(n))
    assert (len(labeled), len(unlabeled)) == (n, n_unlabeled)
    assert len(set(labeled)) == n and len(set(unlabeled)) == n_unlabeled
    assert not set(labeled) & set(unlabeled)
    train_aug = set().union(*_pair(U2PL / "pascal" / "1464"))
    # unlabeled = train_aug minus labeled, for both protocols: the union is train_aug (10582)
    assert set(labeled) | set(unlabeled) == train_aug and len(train_aug) == 10582
    voc_train = set(read_list(U2PL / "pascal" / "1464" / "labeled.txt"))  # the 1464 fine images
    if (n, n_unlabeled) in CLASSIC or n in (662, 1323):
        assert set(labeled) <= voc_train
    else:  # blender 2646 / 5291 contain all of the 1464
        assert voc_train <= set(labeled)
    val = set(read_list(U2PL / "pascal" / "val.txt"))
    assert len(val) == 1449 and not val & train_aug


def test_registered_subsets_point_at_the_lists():
    for frac, n in [("1-16", 186), ("1-8", 372), ("1-4", 744), ("1-2", 1488)]:
        for kind in ("labeled", "unlabeled"):
            meta = MetadataCatalog.get(f"cityscapes_sem_seg_train_{frac}_{kind}")
            assert meta.split_file == f"u2pl/cityscapes/{n}/{kind}.txt" and meta.num_labeled == n
            assert (U2PL.parent / meta.split_file).is_file()
    for protocol, tag, n in [("classic", "92", 92), ("classic", "1464", 1464)] + [
        ("blender", "1-16", 662),
        ("blender", "1-2", 5291),
    ]:
        meta = MetadataCatalog.get(f"voc_2012_sem_seg_train_aug_{protocol}_{tag}_labeled")
        assert meta.split_file == f"u2pl/pascal/{n}/labeled.txt" and meta.protocol == protocol
        assert len(read_list(U2PL.parent / meta.split_file)) == n


def test_draw_split_is_seeded_disjoint_and_complete():
    ids = [f"img{i:03d}" for i in range(100)]
    lab, unl = draw_split(ids, 10, seed=3)
    assert len(lab) == 10 and len(unl) == 90 and set(lab) | set(unl) == set(ids)
    assert not set(lab) & set(unl)
    assert draw_split(list(reversed(ids)), 10, seed=3) == (lab, unl)  # order-independent
    assert draw_split(ids, 10, seed=4)[0] != lab
    with pytest.raises(ValueError, match="num_labeled=101"):
        draw_split(ids, 101, 0)
    assert parse_num_labeled("1/16", 2975) == 186 and parse_num_labeled("1-8", 2975) == 372
    assert parse_num_labeled("1/4", 2975) == 744 and parse_num_labeled("1/2", 2975) == 1488
    assert parse_num_labeled("0.5", 10) == 5 and parse_num_labeled("7", 10) == 7


def test_make_splits_tool_and_registration(tmp_path, monkeypatch):
    parent = "test_splits_parent"
    dicts = [
        {"file_name": f"/x/{i}.png", "sem_seg_file_name": f"/y/{i}.png", "image_id": f"{i:02d}"}
        for i in range(16)
    ]
    DatasetCatalog.register(parent, lambda: dicts)
    MetadataCatalog.get(parent).set(stuff_classes=["a"], ignore_label=255, evaluator_type="sem_seg")
    monkeypatch.setenv("HARDSEG_SPLITS", str(tmp_path))
    spec = importlib.util.spec_from_file_location("make_splits", REPO / "tools" / "make_splits.py")
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    tool.main(["--dataset", parent, "--labeled", "1/4", "2", "--seed", "5"])
    folder = tmp_path / "generated" / parent / "seed5"
    assert sorted(p.name for p in folder.iterdir()) == ["2", "4"]
    lab, unl = _pair(folder / "4")
    assert (lab, unl) == draw_split([d["image_id"] for d in dicts], 4, 5)

    names = register_generated_split(parent, 5, 4)
    labeled = DatasetCatalog.get(names[0])
    unlabeled = DatasetCatalog.get(names[1])
    assert [d["image_id"] for d in labeled] == lab and "sem_seg_file_name" in labeled[0]
    assert [d["image_id"] for d in unlabeled] == unl
    assert all("sem_seg_file_name" not in d for d in unlabeled)
    assert MetadataCatalog.get(names[0]).evaluator_type == "sem_seg"
    assert "evaluator_type" not in MetadataCatalog.get(names[1]).as_dict()
    (tmp_path / "bad.txt").write_text("00\nnope\n")
    with pytest.raises(KeyError, match="1 id\\(s\\) are not in dataset 'test_splits_parent'"):
        load_subset(parent, str(tmp_path / "bad.txt"), True)
    for name in names + [parent]:
        DatasetCatalog.remove(name)
        MetadataCatalog.remove(name)
