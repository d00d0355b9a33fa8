"""An HL model (PSPNet + FCN aux + HL, tiny) trains and evaluates from both train_net scripts, and
its checkpoint evaluates identically in the plain (no-HL) model."""

import json

from tests.common import read_metrics, run_tool

HL_YAML = "configs/quick_schedules/pspnet_R18_hl_instant_test.yaml"
HL_LAZY = "configs/lazy/quick_schedules/pspnet_R18_hl_instant_test.py"


def _losses_logged(output_dir):
    with open(output_dir / "metrics.json") as f:
        rows = [json.loads(line) for line in f if line.strip()]
    return {k for row in rows for k in row if k.startswith("loss_")}


def test_yaml_train_then_eval_only_with_and_without_hl(tmp_path):
    out = tmp_path / "yaml"
    run_tool(
        "train_net.py",
        "--config-file",
        HL_YAML,
        "SOLVER.MAX_ITER",
        4,
        "MODEL.HARDNESS.VIS_PERIOD",
        2,
        "OUTPUT_DIR",
        out,
    )
    assert {"loss_sem_seg", "loss_hardness", "loss_aux"} <= _losses_logged(out)
    # the hardness map reaches TensorBoard as an image (iterations 0 and 2), with its scalars
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(out), size_guidance={"images": 0}).Reload()
    assert "hardness/map | pixel loss" in events.Tags()["images"]
    assert len(events.Images("hardness/map | pixel loss")) == 2
    assert "hardness/weight_ratio" in events.Tags()["scalars"]
    trained = read_metrics(out)["sem_seg"]["mIoU"]
    ev = tmp_path / "eval"
    run_tool(
        "train_net.py",
        "--config-file",
        HL_YAML,
        "--eval-only",
        "MODEL.WEIGHTS",
        out / "model_final.pth",
        "OUTPUT_DIR",
        ev,
    )
    assert read_metrics(ev)["sem_seg"]["mIoU"] == trained
    # The same checkpoint in the plain model (no HL branch): identical evaluation.
    plain = tmp_path / "plain"
    log = run_tool(
        "train_net.py",
        "--config-file",
        HL_YAML,
        "--eval-only",
        "MODEL.WEIGHTS",
        out / "model_final.pth",
        "MODEL.SEM_SEG_HEAD.NAME",
        "PSPNetHead",
        "MODEL.HARDNESS.ENABLED",
        "False",
        "OUTPUT_DIR",
        plain,
    )
    assert "sem_seg_head.hl." in log  # reported as not used by the plain model
    assert read_metrics(plain) == read_metrics(ev)


def test_lazy_train(tmp_path):
    out = tmp_path / "lazy"
    run_tool(
        "lazyconfig_train_net.py",
        "--config-file",
        HL_LAZY,
        "train.max_iter=4",
        f"train.output_dir={out}",
    )
    assert {"loss_sem_seg", "loss_hardness", "loss_aux"} <= _losses_logged(out)
    assert "mIoU" in read_metrics(out)["sem_seg"]
