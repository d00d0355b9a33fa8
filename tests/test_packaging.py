"""The install step's detectron2 edits, the placeholder extension, and what `import hardseg` does."""

import importlib.util
from pathlib import Path

import pytest

from detectron2.data import DatasetCatalog
from detectron2.modeling import BACKBONE_REGISTRY, META_ARCH_REGISTRY, SEM_SEG_HEADS_REGISTRY

import hardseg
from hardseg.model_zoo import get_config_file

REPO = Path(__file__).resolve().parents[1]


def _install_module():
    spec = importlib.util.spec_from_file_location("hardseg_install", REPO / "dev/install.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_import_registers_models_and_datasets():
    assert "HardSegmentor" in META_ARCH_REGISTRY
    assert "DeepLabV3PlusPerPixelHead" in SEM_SEG_HEADS_REGISTRY
    assert "build_resnet_dilated_backbone" in BACKBONE_REGISTRY
    names = DatasetCatalog.list()
    for n in [
        "hardshapes_sem_seg_train",
        "hardshapes_sem_seg_val",
        "hardshapes_shifted_sem_seg_train",
        "hardshapes_shifted_sem_seg_val",
        "cityscapes_fine_sem_seg_train",
        "cityscapes_fine_sem_seg_val",
    ]:
        assert n in names
    assert hardseg.add_hardseg_config is not None


def test_tools_are_scripts_not_a_package():
    # detectron2's wheel installs a top-level `tools` package; ours must not shadow or clash.
    assert not (REPO / "tools/__init__.py").exists()
    assert (REPO / "tools/train_net.py").is_file()


def test_placeholder_extension_raises_a_clear_error():
    from detectron2 import _C

    if getattr(_C, "__file__", "").endswith(".so"):
        pytest.skip("detectron2 was built with its C++ extension")
    with pytest.raises(RuntimeError, match="nms_rotated is not available in this build"):
        _C.nms_rotated()
    assert "pure-Python" in _C.get_compiler_version()
    from detectron2.utils.collect_env import collect_env_info

    assert "PyTorch" in collect_env_info()


def test_patch_detectron2_source_on_a_miniature_tree(tmp_path):
    install = _install_module()
    src = tmp_path / "d2"
    (src / "detectron2/data/transforms").mkdir(parents=True)
    (src / "detectron2/layers").mkdir(parents=True)
    (src / "detectron2/model_zoo/configs").mkdir(parents=True)
    (src / "detectron2/model_zoo/configs/a.yaml").write_text("x: 1\n")
    (src / "setup.py").write_text(
        'setup(\n    install_requires=["black==21.4b2", "future",  # used by caffe2\n'
        '        "pydot",  # used to save caffe2 SVGs\n    ],\n'
        "    ext_modules=get_extensions(),\n"
        '    cmdclass={"build_ext": torch.utils.cpp_extension.BuildExtension},\n)\n'
    )
    (src / "detectron2/data/transforms/transform.py").write_text(
        "def f(interp=Image.LINEAR):\n    return np.int(1), np.float(2), np.bool(0), np.str(3), "
        "np.int64(4), np.float32(5), np.float_\n"
    )
    (src / "detectron2/layers/mask_ops.py").write_text("mask = np.array(mask, copy=False)\n")
    install.patch_detectron2_source(src)
    setup = (src / "setup.py").read_text()
    assert "ext_modules=[]," in setup and "BuildExtension" not in setup
    assert '"black",' in setup and "caffe2" not in setup
    assert (src / "detectron2/_C.py").is_file()
    assert (src / "configs/a.yaml").is_file() and not (
        src / "detectron2/model_zoo/configs"
    ).exists()
    assert (src / "detectron2/data/transforms/transform.py").read_text() == (
        "def f(interp=Image.BILINEAR):\n    return int(1), float(2), bool(0), str(3), "
        "np.int64(4), np.float32(5), np.float_\n"
    )
    assert (src / "detectron2/layers/mask_ops.py").read_text() == "mask = np.asarray(mask)\n"


def test_sha256_of_matches_hashlib(tmp_path):
    install = _install_module()
    f = tmp_path / "x"
    f.write_bytes(b"abc")
    # sha256("abc"), FIPS 180-2 appendix B.1
    assert (
        install.sha256_of(f) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    )


def test_config_paths_resolve_independently_of_cwd(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert Path(get_config_file("quick_schedules/deeplabv3plus_R18_instant_test.yaml")).is_file()
    with pytest.raises(FileNotFoundError, match="no_such.yaml"):
        get_config_file("no_such.yaml")
