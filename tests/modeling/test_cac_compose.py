"""CAC composed with HL (one config: CAC wraps HardnessHead) and inside U2PL's student."""

import torch

from detectron2.modeling import build_model
from detectron2.utils.events import EventStorage

from hardseg.modeling import HardnessHead
from tests.common import random_batch, tiny_cfg
from tests.modeling.test_cac_head import CAC_OPTS, _inputs

HL_OPTS = (
    "MODEL.CAC.HEAD_NAME", "HardnessHead",
    "MODEL.HARDNESS.ENABLED", True,
    "MODEL.HARDNESS.HEAD_NAME", "DeepLabV3PlusPerPixelHead",
)  # fmt: skip


def test_cac_with_hl_gradient_routing_and_keys():
    torch.manual_seed(0)
    model = build_model(tiny_cfg(*CAC_OPTS, *HL_OPTS))
    head = model.sem_seg_head
    assert isinstance(head.seg, HardnessHead)
    images, targets = _inputs(model)
    with EventStorage(0):
        features = model.backbone(images)
        losses = head.losses(head.layers(features), targets, features=features)
    assert set(losses) == {"loss_sem_seg", "loss_hardness", "loss_sem_seg_weight", "loss_cac"}
    params = {
        "proj": list(head.proj.parameters()),
        "weight": list(head.weight_branch.parameters()),
        "hl": list(head.seg.hl.parameters()),
        "classifier": [head.seg.seg.predictor.weight],
        "backbone": [p for p in model.backbone.parameters() if p.requires_grad],
    }
    flat = [p for ps in params.values() for p in ps]
    reached = {}
    for key, value in losses.items():
        grads = torch.autograd.grad(value, flat, retain_graph=True, allow_unused=True)
        i, reached[key] = 0, set()
        for name, ps in params.items():
            if any(g is not None and g.abs().sum() > 0 for g in grads[i : i + len(ps)]):
                reached[key].add(name)
            i += len(ps)
    # HL re-weights only the main head's loss; CAC's two terms are not HL-weighted.
    assert reached == {
        "loss_sem_seg": {"classifier", "backbone"},
        "loss_hardness": {"hl"},
        "loss_sem_seg_weight": {"weight"},
        "loss_cac": {"proj", "weight", "backbone"},
    }
    # Checkpoint layout: the HL model's keys plus proj.* and weight_branch.*.
    torch.manual_seed(0)
    hl_model = build_model(tiny_cfg("MODEL.SEM_SEG_HEAD.NAME", "HardnessHead", *HL_OPTS[2:]))
    own = {k for k in model.state_dict() if ".proj." in k or ".weight_branch." in k}
    assert set(model.state_dict()) - own == set(hl_model.state_dict())
    missing, unexpected = model.load_state_dict(hl_model.state_dict(), strict=False)
    assert not unexpected and set(missing) <= own


def test_cac_in_u2pl_student_trains_a_step():
    config = "hardshapes/u2pl_deeplabv3plus_R18_instant_test_1-16.yaml"
    torch.manual_seed(0)
    model = build_model(tiny_cfg(*CAC_OPTS, config=config))
    model.train()
    batch = {
        "labeled": random_batch(2, 32, 32, seed=0),
        "unlabeled": random_batch(2, 32, 32, seed=100, with_labels=False),
    }
    head = model.student.segmentor.sem_seg_head
    with EventStorage(0):
        losses = model(batch)
    assert {"loss_sem_seg", "loss_sem_seg_weight", "loss_cac"} <= set(losses)
    sum(losses.values()).backward()
    assert head.proj.residual.weight.grad.abs().sum() > 0
    assert head.weight_branch.classifier.weight.grad.abs().sum() > 0
