"""Stage 1 (AdaptSegNet warm-up): the discriminator's layout, its loss options, and the
discriminator with its own optimizer saved in the checkpoint and restored by --resume."""

import pytest
import torch

from hardseg.checkpoint import load_checkpoint_file
from hardseg.engine.self_training import train_stage
from hardseg.model_zoo import get_config_file
from hardseg.modeling.uda import FCDiscriminator

from .common import WARMUP


def test_fc_discriminator_layout():
    d = FCDiscriminator(19)
    convs = [m for m in d.modules() if isinstance(m, torch.nn.Conv2d)]
    assert [(c.in_channels, c.out_channels) for c in convs] == [
        (19, 64), (64, 128), (128, 256), (256, 512), (512, 1),
    ]  # fmt: skip
    assert all(c.kernel_size == (4, 4) and c.stride == (2, 2) for c in convs)
    assert (
        sum(isinstance(m, torch.nn.LeakyReLU) and m.negative_slope == 0.2 for m in d.modules()) == 4
    )
    assert d(torch.rand(2, 19, 64, 128)).shape == (2, 1, 2, 4)


def test_bad_adversarial_loss_name():
    from detectron2.modeling import build_model

    from tests.common import tiny_cfg

    with pytest.raises(ValueError, match="MODEL.UDA.ADV.LOSS='wgan'"):
        build_model(tiny_cfg("MODEL.UDA.ADV.LOSS", "wgan", config=WARMUP))


def _run(out, resume=False):
    opts = ["OUTPUT_DIR", str(out), "DATASETS.TEST", "()", "SOLVER.MAX_ITER", "4"]
    opts += ["SOLVER.CHECKPOINT_PERIOD", "2", "MODEL.UDA.ADV.LOSS", "bce"]
    return train_stage(get_config_file(WARMUP), opts, resume=resume)


def test_discriminator_and_its_optimizer_resume_exactly(tmp_path):
    a = load_checkpoint_file(_run(tmp_path / "a"))
    assert a["discriminator_optimizer"]["state"], "the discriminator's Adam state is saved"
    assert any(k.startswith("discriminator.") for k in a["model"])

    _run(tmp_path / "b")  # then pretend it stopped after the checkpoint of iteration 1 (of 0..3)
    (tmp_path / "b" / "last_checkpoint").write_text("model_0000001.pth")
    b = load_checkpoint_file(_run(tmp_path / "b", resume=True))
    for k in a["model"]:
        assert torch.equal(a["model"][k], b["model"][k]), k
    sa, sb = a["discriminator_optimizer"]["state"], b["discriminator_optimizer"]["state"]
    assert sa.keys() == sb.keys()
    for i in sa:
        for name in ("exp_avg", "exp_avg_sq", "step"):
            assert torch.equal(sa[i][name], sb[i][name]), (i, name)
