# HL for a LazyConfig per-pixel model: call ``add_hardness(model)`` at the END of an experiment
# file, after every change to model.sem_seg_head, since the HL branch is a copy of that head's
# config with one output (a separately built, freshly initialised module, as in the official code).
import copy

from detectron2.config import LazyCall as L

from hardseg.modeling import HardnessHead


def add_hardness(
    model,
    eps=0.1,
    loss_weight=0.01,
    predictor_init_std=0.01,
    vis_period=1000,
    normalizer="all_pixels",
):
    """Replace ``model.sem_seg_head`` by ``HardnessHead(head=<it>, hl_head=<copy, 1 class>)``;
    the arguments are MODEL.HARDNESS.{EPS, LOSS_WEIGHT, PREDICTOR_INIT_STD, VIS_PERIOD,
    NORMALIZER}."""
    head = model.sem_seg_head
    hl_head = copy.deepcopy(head)
    hl_head.num_classes = 1
    model.sem_seg_head = L(HardnessHead)(
        head=head,
        hl_head=hl_head,
        eps=eps,
        loss_weight=loss_weight,
        predictor_init_std=predictor_init_std,
        vis_period=vis_period,
        normalizer=normalizer,
    )
    return model
