from .build import (
    SEM_SEG_LOSS_REGISTRY,
    NoPixelFormError,
    WeightedSumLoss,
    build_sem_seg_loss,
    check_pixel_form,
    select_loss_inputs,
    distance_maps_for_losses,
    loss_required_inputs,
    loss_spec_from_config,
    registered_losses,
)
from .cac import cac_loss, cac_sample_counts
from .cross_entropy import (
    DistancePenalizedCrossEntropy,
    OhemCrossEntropy,
    PixelCrossEntropy,
    SoftmaxFocalLoss,
)
from .distance import (
    DISTANCE_MAP_KEYS,
    BoundaryLoss,
    GDLBoundaryLoss,
    HausdorffDTLoss,
    dist_penalty_map,
    signed_distance_maps,
)
from .hardness import fixed_hardness_weights, hardness_losses, hardness_weights
from .lovasz import LovaszSoftmaxLoss
from .region import (
    CEDiceLoss,
    ComboLoss,
    DiceLoss,
    ExpLogLoss,
    FocalTverskyLoss,
    GeneralizedDiceLoss,
    SoftIoULoss,
    TverskyLoss,
)
