# HL for a LazyConfig per-pixel model: call ``add_hardness(model)`` at the END of an experiment
# file, after every change to model.sem_seg_head, since the HL branch is a copy of that head's
# config with one output (a separately built, freshly initialised module, as in the official code).
import copy

from detectron2.config import LazyCall as L

from hardseg.modeling import HardnessHead
from hardseg.modeling.heads.hl_light_branch import LightHardnessBranch


def add_hardness(
    model,
    eps=0.1,
    loss_weight=0.01,
    predictor_init_std=0.01,
    vis_period=1000,
    normalizer="all_pixels",
    branch="copy",
    light_channels=64,
    light_norm="BN",
):
    """Replace ``model.sem_seg_head`` by ``HardnessHead(head=<it>, hl_head=<branch>)``; the
    arguments are MODEL.HARDNESS.{EPS, LOSS_WEIGHT, PREDICTOR_INIT_STD, VIS_PERIOD, NORMALIZER,
    BRANCH, LIGHT_CHANNELS}. ``branch`` "copy": the head again with 1 class (official); "light":
    LightHardnessBranch on the head's ``in_features`` (its ``input_shape``)."""
    head = model.sem_seg_head
    if branch == "light":
        hl_head = L(LightHardnessBranch)(
            input_shape=head.input_shape,
            # the decode head's inputs (every backbone output it is given)
            in_features=list(head.get("in_features", None) or head.input_shape.keys()),
            channels=light_channels,
            norm=light_norm,
        )
    elif branch == "copy":
        hl_head = copy.deepcopy(head)
        hl_head.num_classes = 1
    else:
        raise ValueError(f"add_hardness: branch={branch!r}; expected 'copy' or 'light'.")
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
