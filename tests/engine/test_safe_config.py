"""YAML configs are data: a Python tag in a config (or in its ``_BASE_``) runs no code, through
tools/train_net.py's setup (``setup_cfg``) and through ``load_lazy_config``; the error names the
file and the tag."""

import pytest

from hardseg.config.safe_yaml import UnsafeConfigError
from hardseg.engine import setup_cfg
from hardseg.engine.lazy import load_lazy_config


def _malicious(tmp_path, name, marker, extra=""):
    path = tmp_path / name
    path.write_text(f"{extra}SEED: !!python/object/apply:os.system [\"touch '{marker}'\"]\n")
    return path


def test_setup_cfg_refuses_python_tag(tmp_path):
    marker = tmp_path / "ran"
    path = _malicious(tmp_path, "evil.yaml", marker)
    with pytest.raises(UnsafeConfigError, match=r"evil\.yaml, line 1.*python/object/apply"):
        setup_cfg(str(path))
    assert not marker.exists()


def test_setup_cfg_refuses_python_tag_in_base_file(tmp_path):
    marker = tmp_path / "ran"
    _malicious(tmp_path, "base.yaml", marker)
    child = tmp_path / "child.yaml"
    child.write_text("_BASE_: base.yaml\nSOLVER:\n  MAX_ITER: 3\n")
    with pytest.raises(UnsafeConfigError, match=r"base\.yaml, line 1.*python/object/apply"):
        setup_cfg(str(child))
    assert not marker.exists()


def test_setup_cfg_plain_yaml_still_loads(tmp_path):
    path = tmp_path / "ok.yaml"
    path.write_text("SEED: 7\nSOLVER:\n  MAX_ITER: 3\n")
    cfg = setup_cfg(str(path))
    assert (cfg.SEED, cfg.SOLVER.MAX_ITER) == (7, 3)


def test_lazy_yaml_refuses_python_tag(tmp_path):
    marker = tmp_path / "ran"
    path = _malicious(tmp_path, "lazy.yaml", marker)
    with pytest.raises(UnsafeConfigError, match=r"lazy\.yaml, line 1.*python/object/apply"):
        load_lazy_config(str(path))
    assert not marker.exists()


def test_lazy_yaml_plain_loads(tmp_path):
    path = tmp_path / "lazy.yaml"
    path.write_text("train:\n  device: cpu\n  max_iter: 5\n")
    cfg = load_lazy_config(str(path), ["train.max_iter=7"])
    assert cfg.train.max_iter == 7 and cfg.train.device == "cpu"
