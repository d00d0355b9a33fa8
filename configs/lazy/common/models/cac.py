# CAC for a LazyConfig per-pixel model: call ``add_cac(model, ...)`` at the END of an experiment
# file, after every change to model.sem_seg_head (which becomes the wrapped head).
from detectron2.config import LazyCall as L

from hardseg.modeling.heads import ConfidenceAwareContrastiveHead


def add_cac(
    model,
    num_classes,
    loss_weight=0.4,
    weight_loss_weight=1.5,
    warmup_iters=0,
    norm="SyncBN",
    **options
):
    """Replace ``model.sem_seg_head`` by ``ConfidenceAwareContrastiveHead(head=<it>, ...)``; the
    arguments are MODEL.CAC.* (LOSS_WEIGHT, WEIGHT_LOSS_WEIGHT, WARMUP_ITERS, ...)."""
    model.sem_seg_head = L(ConfidenceAwareContrastiveHead)(
        head=model.sem_seg_head,
        num_classes=num_classes,
        norm=norm,
        loss_weight=loss_weight,
        weight_loss_weight=weight_loss_weight,
        warmup_iters=warmup_iters,
        **options,
    )
    return model
