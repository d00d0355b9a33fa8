"""--eval-only needs weights that fit the model (issue 12, item 7)."""

import importlib.util

import pytest
import torch

from detectron2.engine import default_argument_parser
from detectron2.modeling import build_model

from hardseg.engine.lazy import main as lazy_main
from tests.common import REPO, read_metrics, tiny_cfg

YAML = REPO / "configs/quick_schedules/deeplabv3plus_R18_instant_test.yaml"
LAZY = REPO / "configs/lazy/quick_schedules/deeplabv3plus_R18_instant_test.py"
PSP = "quick_schedules/pspnet_R18_hl_instant_test.yaml"


def _train_net_main():
    spec = importlib.util.spec_from_file_location("train_net", REPO / "tools/train_net.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.main


def _eval(out, *opts):
    argv = ["--config-file", str(YAML), "--eval-only", "OUTPUT_DIR", str(out), *map(str, opts)]
    return _train_net_main()(default_argument_parser().parse_args(argv))


def _lazy_eval(out, *overrides):
    argv = ["--config-file", str(LAZY), "--eval-only", f"train.output_dir={out}", *overrides]
    return lazy_main(default_argument_parser().parse_args(argv))


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    """Untrained weights of: the instant config, the same with 5 classes, an HL PSPNet."""
    d = tmp_path_factory.mktemp("weights")
    paths = {}
    for name, cfg in [
        ("same", tiny_cfg()),
        ("five_classes", tiny_cfg("MODEL.SEM_SEG_HEAD.NUM_CLASSES", "5")),
        ("pspnet", tiny_cfg(config=PSP)),
    ]:
        paths[name] = d / f"{name}.pth"
        torch.save({"model": build_model(cfg).state_dict()}, paths[name])
    return paths


def test_eval_only_without_weights_is_refused(tmp_path):
    with pytest.raises(ValueError, match=r"MODEL.WEIGHTS is empty.*TEST.ALLOW_PARTIAL_WEIGHTS"):
        _eval(tmp_path)
    assert not (tmp_path / "inference").exists()  # no metrics were written
    with pytest.raises(ValueError, match=r"train.init_checkpoint is empty.*allow_partial_weights"):
        _lazy_eval(tmp_path / "lazy")


def test_eval_only_with_weights_of_another_model_is_refused(weights, tmp_path):
    with pytest.raises(
        ValueError,
        match=r"shape mismatches.*sem_seg_head.predictor.weight: \(5, 16, 1, 1\) in the file, \(7, 16, 1, 1\) in the model",
    ):
        _eval(tmp_path, "MODEL.WEIGHTS", weights["five_classes"])
    with pytest.raises(
        ValueError, match=r"model keys missing from the file \(sem_seg_head\.decoder"
    ):
        _eval(tmp_path, "MODEL.WEIGHTS", weights["pspnet"])
    with pytest.raises(ValueError, match=r"sem_seg_head.predictor.*allow_partial_weights=True"):
        _lazy_eval(tmp_path / "lazy", f"train.init_checkpoint={weights['five_classes']}")
    assert not (tmp_path / "inference").exists()


def test_partial_weights_can_be_allowed_explicitly(weights, tmp_path):
    _eval(tmp_path, "MODEL.WEIGHTS", weights["five_classes"], "TEST.ALLOW_PARTIAL_WEIGHTS", "True")
    assert "mIoU" in read_metrics(tmp_path)["sem_seg"]
