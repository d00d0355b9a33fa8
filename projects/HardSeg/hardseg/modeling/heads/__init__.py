"""Per-pixel segmentation heads (SEM_SEG_HEADS_REGISTRY entries).

Every HardSeg per-pixel head keeps detectron2's split so that wrappers (HL, CAC, other losses) can
reuse it without copying:

* ``layers(features, *, return_features=False) -> sem_seg_logits`` (N, K, H/s, W/s): the network
  part; with ``return_features``, ``(logits, {name: feature})`` with at least
  ``"pre_classifier"`` (the predictor's input; U2PL's embedding head reads these), whose channels
  ``feature_channels`` gives;
* ``losses(sem_seg_logits, targets, *, pixel_weights=None, loss_inputs=None, features=None)
  -> {"loss_sem_seg": ...}``: the loss part, the one call every meta-architecture makes.
  ``loss_inputs`` holds the per-sample maps named by ``required_loss_inputs`` (distance maps from
  the mapper); ``pixel_weights`` (N, H, W) turns the mean into a weighted sum over pixels;
  ``features`` (backbone outputs) is read only by wrappers such as HL's ``HardnessHead``;
* ``pixel_loss(sem_seg_logits, targets, *, loss_inputs=None) -> (N, H, W)``: the per-pixel loss
  map, when the loss has one (TypeError otherwise);
* ``forward(features, targets, *, loss_inputs=None)``: ``(None, losses)`` in training, ``(logits
  at input resolution, {})`` in inference; attributes ``ignore_value`` and ``common_stride``.

Heads keep no per-batch state on ``self``: everything a loss needs arrives as an argument.
:class:`PerPixelLossMixin` implements the loss half (``upsample``/``losses``/``pixel_loss``) once.
"""

from .per_pixel import PerPixelLossMixin
from .deeplabv3plus_head import DeepLabV3PlusPerPixelHead
from .u2pl_deeplabv3plus_head import U2PLDeepLabV3PlusHead
from .sep_aspp_head import DepthwiseSeparableASPPHead
from .pspnet_head import PSPNetHead
from .fcn_head import FCNHead, build_aux_head
from .hardness_head import HardnessHead
from .fcn_skip_head import FCNSkipHead
from .unet_head import UNetHead
from .segnet_head import SegNetHead
from .enet_head import ENetHead
from .gcn_head import GCNHead
from .duc_head import DUCHead
from .upernet_head import UPerNetHead
from .deeplabv3_head import DeepLabV3PerPixelHead
from .hrnet_fcn_head import HRNetFCNHead
from .ocr_head import HRNetOCRHead
from .cac_options import CACOptions
from .cac_head import ConfidenceAwareContrastiveHead
from .segformer_head import SegFormerHead
from .ham_head import LightHamHead
from .stdc_head import STDCHead
from .simple_head import SimpleSumHead
from .regseg_head import RegSegHead
from .sfnet_head import SFNetHead
from .aspp_v2_head import ASPPV2Head
