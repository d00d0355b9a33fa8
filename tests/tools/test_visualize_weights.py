"""tools/visualize_*.py refuse missing or unfitting weights and report progress (issue 12, item 9)."""

import pytest

from detectron2.checkpoint import DetectionCheckpointer
from detectron2.modeling import build_model

from hardseg.checkpoint import IncompleteWeightsError
from hardseg.engine.panel_tool import panel_tool_main
from hardseg.utils.hardness_vis import save_hardness_panels
from hardseg.utils.visualize import save_prediction_panels
from tests.common import REPO, hardseg_log, tiny_cfg

PLAIN = "quick_schedules/deeplabv3plus_R18_instant_test.yaml"
HL = "quick_schedules/deeplabv3plus_R18_hl_instant_test.yaml"


def _tool(save, config, out, *opts):
    argv = ["--config-file", str(REPO / "configs" / config), "--output", str(out)]
    panel_tool_main("", "vis", save, argv + ["--num-images", "2", *map(str, opts)])


@pytest.fixture(scope="module")
def plain_weights(tmp_path_factory):
    d = tmp_path_factory.mktemp("w")
    DetectionCheckpointer(build_model(tiny_cfg(config=PLAIN)), save_dir=str(d)).save("plain")
    return d / "plain.pth"


@pytest.mark.parametrize("save", [save_prediction_panels, save_hardness_panels])
def test_no_weights_is_refused(tmp_path, save):
    config = HL if save is save_hardness_panels else PLAIN
    with pytest.raises(IncompleteWeightsError, match="MODEL.WEIGHTS is empty"):
        _tool(save, config, tmp_path)
    assert not (tmp_path / "hardshapes_sem_seg_val").exists()


def test_hl_config_with_plain_weights_is_refused(tmp_path, plain_weights):
    with pytest.raises(IncompleteWeightsError, match=r"sem_seg_head\.hl\.\*\) is not in the file"):
        _tool(save_hardness_panels, HL, tmp_path, "MODEL.WEIGHTS", plain_weights)
    assert not (tmp_path / "hardshapes_sem_seg_val").exists()


def test_progress_is_logged(tmp_path, plain_weights):
    with hardseg_log() as messages:
        _tool(save_prediction_panels, PLAIN, tmp_path, "MODEL.WEIGHTS", plain_weights)
    out = tmp_path / "hardshapes_sem_seg_val"
    assert len(list(out.glob("*.png"))) == 2
    text = "\n".join(messages)
    assert f"{out}: 1/2 panels, ETA" in text and f"{out}: 2/2 panels, ETA 0:00:00" in text
