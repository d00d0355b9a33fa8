"""DeepLabV3+ head following HardSeg's per-pixel head contract (see ``hardseg.modeling.heads``)."""

from typing import Dict

from detectron2.config import configurable
from detectron2.layers import ShapeSpec
from detectron2.modeling import SEM_SEG_HEADS_REGISTRY
from detectron2.projects.deeplab import DeepLabV3PlusHead

from ..losses import build_sem_seg_loss, loss_spec_from_config
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
        input_shape = {
            k: (
                v
                if isinstance(v, ShapeSpec)
                else ShapeSpec(channels=v["channels"], stride=v["stride"])
            )
            for k, v in input_shape.items()
        }
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
