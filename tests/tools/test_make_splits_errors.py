"""tools/make_splits.py refuses bad --labeled values with a usage error, and split lists with a
duplicate id or an id in both lists are refused where they are loaded."""

import importlib.util
import re

import pytest

from detectron2.data import DatasetCatalog, MetadataCatalog

from hardseg.data.datasets.splits import load_subset, parse_num_labeled, register_generated_split
from tests.common import REPO


def _tool():
    spec = importlib.util.spec_from_file_location("make_splits", REPO / "tools" / "make_splits.py")
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    return tool


@pytest.mark.parametrize(
    "value, message",
    [
        ("0", "labeled count '0' is below 1"),
        ("-3", "labeled count '-3' is below 1"),
        ("abc", "labeled 'abc' is not a number"),
        ("1/0", "labeled '1/0' divides by zero"),
        ("3/2", r"labeled '3/2' = 1.5 is not a fraction in \(0, 1\]"),
    ],
)
def test_bad_labeled_values_are_usage_errors(value, message, capsys):
    with pytest.raises(SystemExit) as exc:
        _tool().main(["--dataset", "unused", "--labeled", value])
    assert exc.value.code == 2  # argparse's usage error, before any dataset is loaded
    err = capsys.readouterr().err
    assert "argument --labeled" in err
    assert re.search(message, err), err
    with pytest.raises(ValueError, match=message):
        parse_num_labeled(value, 100)


@pytest.fixture
def parent():
    name = "test_split_lists_parent"
    dicts = [{"file_name": f"/x/{i}.png", "image_id": f"{i:02d}"} for i in range(6)]
    DatasetCatalog.register(name, lambda: dicts)
    MetadataCatalog.get(name).set(stuff_classes=["a"], ignore_label=255)
    yield name
    DatasetCatalog.remove(name)
    MetadataCatalog.remove(name)


def test_duplicate_id_is_refused(tmp_path, parent):
    (tmp_path / "labeled.txt").write_text("00\n01\n\n00\n")
    with pytest.raises(
        ValueError, match=r"labeled\.txt: id '00' is listed twice \(lines 1 and 4\)"
    ):
        load_subset(parent, str(tmp_path / "labeled.txt"), True)


def test_id_in_both_lists_is_refused(tmp_path, parent, monkeypatch):
    monkeypatch.setenv("HARDSEG_SPLITS", str(tmp_path))
    folder = tmp_path / "generated" / parent / "seed0" / "2"
    folder.mkdir(parents=True)
    (folder / "labeled.txt").write_text("00\n01\n")
    (folder / "unlabeled.txt").write_text("02\n03\n01\n")
    labeled, unlabeled = register_generated_split(parent, 0, 2)
    try:
        for name in (labeled, unlabeled):
            with pytest.raises(ValueError, match=r"id '01' is in both lists of a split: .*line"):
                DatasetCatalog.get(name)
        (folder / "unlabeled.txt").write_text("02\n03\n")  # fixed: loads
        assert [d["image_id"] for d in DatasetCatalog.get(unlabeled)] == ["02", "03"]
    finally:
        for name in (labeled, unlabeled):
            DatasetCatalog.remove(name)
            MetadataCatalog.remove(name)
