"""Config keys live where their names say: each concept's add_*_config adds only its own keys,
a plain PSPNet/FCN reads no HL key, and the auxiliary head reads MODEL.AUX_HEAD."""

import pytest
import torch

from detectron2.config import CfgNode as CN
from detectron2.config import get_cfg
from detectron2.modeling import build_model

from hardseg.config import (
    add_aux_head_config,
    add_backbone_config,
    add_efficiency_config,
    add_evaluation_config,
    add_hardness_config,
    add_pspnet_fcn_config,
)
from tests.common import tiny_cfg

PSPNET = "hardshapes/pspnet_R18_os8_bs8_600it.yaml"


def _flat(node, prefix=""):
    out = set()
    for k, v in node.items():
        out |= _flat(v, f"{prefix}{k}.") if isinstance(v, CN) else {prefix + k}
    return out


@pytest.mark.parametrize(
    "add,keys",
    [
        (add_hardness_config, "MODEL.HARDNESS."),
        (add_aux_head_config, "MODEL.AUX_HEAD."),
        (add_evaluation_config, ("TEST.DIFFICULTY_BINS", "TEST.SAVE_PREDICTIONS_JSON")),
        (add_efficiency_config, ("MODEL.CHANNELS_LAST", "MODEL.BACKBONE_ACTIVATION_CHECKPOINT")),
        (add_backbone_config, "MODEL.RESNETS."),
        (add_pspnet_fcn_config, "MODEL.SEM_SEG_HEAD."),
    ],
)
def test_each_add_config_adds_only_its_own_keys(add, keys):
    cfg = get_cfg()
    cfg.MODEL.SEM_SEG_HEAD = CN()
    before = _flat(cfg)
    add(cfg)
    added = _flat(cfg) - before
    assert added and all(k.startswith(keys) for k in added), sorted(added)


def test_plain_pspnet_does_not_read_the_hl_init_key():
    opts = ("MODEL.SEM_SEG_HEAD.CHANNELS", 16, "MODEL.AUX_HEAD.CHANNELS", 8)
    torch.manual_seed(0)
    hl_key = build_model(tiny_cfg(*opts, "MODEL.HARDNESS.PREDICTOR_INIT_STD", 5.0, config=PSPNET))
    torch.manual_seed(0)
    own_key = build_model(
        tiny_cfg(*opts, "MODEL.SEM_SEG_HEAD.PREDICTOR_INIT_STD", 5.0, config=PSPNET)
    )
    assert hl_key.sem_seg_head.predictor.weight.std() < 0.1  # 0.01: the default
    assert own_key.sem_seg_head.predictor.weight.std() > 1.0  # 5.0: its own key


def test_aux_head_reads_aux_head_keys():
    cfg = tiny_cfg(
        *("MODEL.SEM_SEG_HEAD.CHANNELS", 16, "MODEL.SEM_SEG_HEAD.LOSSES", "['dice', 'boundary']"),
        *("MODEL.AUX_HEAD.CHANNELS", 8, "MODEL.AUX_HEAD.LOSS_WEIGHT", 0.25),
        *("MODEL.AUX_HEAD.LOSS_TYPE", "focal", "MODEL.AUX_HEAD.DROPOUT", 0.0),
        config=PSPNET,
    )
    model = build_model(cfg)
    aux = model.aux_head
    assert aux.in_feature == "res4" and aux.predictor.in_channels == 8
    assert aux.loss_weight == 0.25 and len(aux.convs) == 1 and aux.conv_cat is None
    assert [t[0] for t in aux.loss.terms] == ["focal"]  # not the decode head's LOSSES
    assert isinstance(aux.dropout, torch.nn.Identity)
    assert model.sem_seg_head.predictor.in_channels == 16
    assert list(cfg.MODEL.SEM_SEG_HEAD.LOSSES) == ["dice", "boundary"]  # config untouched


def test_aux_head_that_cannot_read_aux_keys_is_refused():
    cfg = tiny_cfg("MODEL.AUX_HEAD.NAME", "DeepLabV3PlusPerPixelHead")
    with pytest.raises(ValueError, match="MODEL.AUX_HEAD.NAME='DeepLabV3PlusPerPixelHead'"):
        build_model(cfg)
