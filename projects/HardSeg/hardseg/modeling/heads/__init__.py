"""Per-pixel segmentation heads (SEM_SEG_HEADS_REGISTRY entries).

Every HardSeg per-pixel head keeps detectron2's split so that wrappers (HL, CAC, other losses) can
reuse it without copying:

* ``layers(features) -> sem_seg_logits`` (N, K, H/s, W/s): the network part;
* ``losses(sem_seg_logits, targets) -> {"loss_sem_seg": ...}``: the loss part;
* ``pixel_loss(sem_seg_logits, targets) -> (N, H, W)``: the per-pixel loss map, when the loss has
  one (TypeError otherwise);
* ``forward(features, targets)``: ``(None, losses)`` in training, ``(logits at input resolution,
  {})`` in inference; attributes ``ignore_value`` and ``common_stride``.

:class:`PerPixelLossMixin` implements the loss half (``upsample``/``losses``/``pixel_loss``) once.
"""

from .per_pixel import PerPixelLossMixin
from .deeplabv3plus_head import DeepLabV3PlusPerPixelHead
from .pspnet_head import PSPNetHead
from .fcn_head import FCNHead, build_aux_head
from .hardness_head import HardnessHead
