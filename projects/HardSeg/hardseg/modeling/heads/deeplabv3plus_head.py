"""DeepLabV3+ head following HardSeg's per-pixel head contract (see ``hardseg.modeling.heads``)."""

from typing import Dict

import torch
from torch.nn import functional as F
from detectron2.config import configurable
from detectron2.layers import ShapeSpec
from detectron2.modeling import SEM_SEG_HEADS_REGISTRY
from detectron2.projects.deeplab import DeepLabV3PlusHead

from ..losses import build_sem_seg_loss, loss_spec_from_config
from ..shape_spec import as_shape_specs
from .per_pixel import PerPixelLossMixin

ASPP_POOLING_MODES = ("global", "crop")


@SEM_SEG_HEADS_REGISTRY.register()
class DeepLabV3PlusPerPixelHead(PerPixelLossMixin, DeepLabV3PlusHead):
    """detectron2's DeepLabV3+ decoder (ASPP on the last feature, then fusion with projected
    low-level features) with two changes:

    * ASPP's image pooling is global by default (``aspp_pooling="global"``); ``"crop"`` restores
      detectron2's fixed AvgPool kernel derived from the training crop.
    * the loss comes from ``SEM_SEG_LOSS_REGISTRY`` (``loss_type``: a registered name, or a
      weighted sum from :func:`loss_spec_from_config`) and, when it has one, its per-pixel form is
      exposed by :meth:`pixel_loss` (:class:`PerPixelLossMixin`), so wrappers (HL) can re-weight
      it.

    Shapes: ``features[f]`` (N, C_f, H/s_f, W/s_f) for f in ``in_features``; :meth:`layers` returns
    ``sem_seg_logits`` (N, K, H/s, W/s) with s = ``common_stride``; targets are (N, H, W) int64.
    """

    @configurable
    def __init__(
        self,
        input_shape: Dict[str, ShapeSpec],
        *,
        aspp_pooling: str = "global",
        train_size=None,
        loss_type="cross_entropy",
        ignore_value: int = 255,
        **kwargs,
    ):
        if aspp_pooling not in ASPP_POOLING_MODES:
            raise ValueError(
                f"MODEL.SEM_SEG_HEAD.ASPP_POOLING={aspp_pooling!r}; expected one of "
                f"{ASPP_POOLING_MODES}."
            )
        # LazyConfig passes input_shape as a mapping of {"channels", "stride"} mappings.
        input_shape = as_shape_specs(input_shape)
        super().__init__(
            input_shape=input_shape,
            train_size=train_size if aspp_pooling == "crop" else None,
            loss_type="cross_entropy",  # replaced below by the registry's loss
            ignore_value=ignore_value,
            **kwargs,
        )
        self.loss_type = loss_type
        if not self.decoder_only:
            self.loss = build_sem_seg_loss(loss_type, ignore_value)

    @classmethod
    def from_config(cls, cfg, input_shape):
        ret = DeepLabV3PlusHead.from_config.__func__(cls, cfg, input_shape)
        ret["aspp_pooling"] = cfg.MODEL.SEM_SEG_HEAD.ASPP_POOLING
        # LOSS_TYPE or the weighted sum LOSSES/LOSS_WEIGHTS, with MODEL.SEM_SEG_LOSS options.
        ret["loss_type"] = loss_spec_from_config(cfg)
        return ret

    def forward(self, features, targets=None, *, loss_inputs=None):
        """``PerPixelLossMixin.forward``; with ``decoder_only``, the decoder feature alone."""
        if self.decoder_only:
            return self.layers(features)
        return PerPixelLossMixin.forward(self, features, targets, loss_inputs=loss_inputs)

    @property
    def feature_channels(self) -> Dict[str, int]:
        """Channels of the features ``layers(..., return_features=True)`` returns."""
        out = {}
        fuse = self.decoder[self.in_features[0]]["fuse_conv"]
        if fuse is not None:
            out["decoder_concat"] = fuse[0].in_channels
        if not self.decoder_only:
            out["pre_classifier"] = self.predictor.in_channels
        return out

    def layers(self, features: Dict[str, torch.Tensor], *, return_features: bool = False):
        """detectron2's ``DeepLabV3PlusHead.layers``: ``features`` -> ``sem_seg_logits`` (N, K,
        H/s, W/s). With ``return_features``, ``(logits, {"decoder_concat": (N, C_proj + C_aspp,
        H/s, W/s), "pre_classifier": (N, C, H/s, W/s)})``: the input of the finest stage's fuse
        conv ([projected low-level feature, upsampled coarser output]) and of the predictor."""
        taps = {}
        for f in self.in_features[::-1]:  # from low to high resolution
            proj_x = self.decoder[f]["project_conv"](features[f])
            if self.decoder[f]["fuse_conv"] is None:  # the ASPP stage
                y = proj_x
            else:
                y = F.interpolate(y, size=proj_x.size()[2:], mode="bilinear", align_corners=False)
                y = torch.cat([proj_x, y], dim=1)
                taps["decoder_concat"] = y
                y = self.decoder[f]["fuse_conv"](y)
        if not self.decoder_only:
            taps["pre_classifier"] = y
            y = self.predictor(y)
        return (y, taps) if return_features else y
