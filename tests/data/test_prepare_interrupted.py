"""An interrupted prepare run leaves no file that a loader matches, and the next run (also with
``--overwrite``) removes the temporaries of the old and the new naming."""

import os

import numpy as np
import pytest

from hardseg.data.datasets.common import pairs_by_stem
from hardseg.data.prepare import core
from hardseg.data.prepare.core import LabelJob, convert_labels
from tests.common import write_label_png


def _reader(path):
    return np.load(path)


@pytest.fixture
def jobs(tmp_path):
    (tmp_path / "raw").mkdir()
    (tmp_path / "images").mkdir()
    out = tmp_path / "labels"
    jobs = []
    for i in range(2):
        np.save(tmp_path / "raw" / f"{i:05d}.npy", np.full((4, 6), i, np.uint8))
        write_label_png(tmp_path / "images" / f"{i:05d}.png", np.zeros((4, 6)))
        jobs.append(
            LabelJob(src=str(tmp_path / "raw" / f"{i:05d}.npy"), dst=str(out / f"{i:05d}.png"))
        )
    return jobs


def _plant_orphans(out):
    out.mkdir(exist_ok=True)
    old = out / "00002.png.tmp22017.png"  # what an interrupted run of the old code left
    new = out / ".00003.png.tmp22018"
    for p in (old, new):
        p.write_bytes(b"\x89PNG half written")
    return old, new


@pytest.mark.parametrize("overwrite", [False, True])
def test_rerun_removes_temporaries(jobs, tmp_path, overwrite):
    out = tmp_path / "labels"
    assert convert_labels("t", jobs, _reader).converted == 2
    old, new = _plant_orphans(out)
    summary = convert_labels("t", jobs, _reader, overwrite=overwrite)
    assert summary.ok and (summary.converted, summary.skipped) == ((2, 0) if overwrite else (0, 2))
    assert not old.exists() and not new.exists()
    assert "removed 2 temporary file(s)" in summary.report()
    assert sorted(os.listdir(out)) == ["00000.png", "00001.png"]
    dicts = pairs_by_stem("t", str(tmp_path / "images"), str(out), ".png", ".png", "rerun")
    assert [d["image_id"] for d in dicts] == ["00000", "00001"]


def test_interrupted_write_leaves_no_loadable_name(jobs, tmp_path, monkeypatch):
    """A kill between writing the temporary file and the rename leaves a name that the loader
    (pairing by the .png suffix) does not match."""
    out = tmp_path / "labels"
    monkeypatch.setattr(core.os, "replace", lambda *a: (_ for _ in ()).throw(KeyboardInterrupt))
    # a kill -9 runs no cleanup: the temporary file stays
    monkeypatch.setattr(core.os, "remove", lambda path: None)
    with pytest.raises(KeyboardInterrupt):
        convert_labels("t", jobs[:1], _reader)
    monkeypatch.undo()
    leftovers = os.listdir(out)
    assert len(leftovers) == 1 and not leftovers[0].endswith(".png"), leftovers
    assert leftovers[0].startswith(".00000.png.tmp")
    assert convert_labels("t", jobs, _reader).converted == 2
    assert sorted(os.listdir(out)) == ["00000.png", "00001.png"]
