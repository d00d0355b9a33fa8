"""TRANSFORMER_DECODER_REGISTRY: the query decoders of mask-classification heads.

Built as ``TRANSFORMER_DECODER_REGISTRY.get(name)(cfg, in_channels)`` (``@configurable``
classes), ``in_channels`` = the pixel decoder's CONVS_DIM. ``forward(multi_scale_features,
mask_features)`` returns ``{"pred_logits": (N, Q, K+1), "pred_masks": (N, Q, H/4, W/4),
"aux_outputs": [ {"pred_logits", "pred_masks"} per earlier prediction ]}``.
"""

from detectron2.utils.registry import Registry

__all__ = ["TRANSFORMER_DECODER_REGISTRY", "build_transformer_decoder"]

TRANSFORMER_DECODER_REGISTRY = Registry("TRANSFORMER_DECODER")
TRANSFORMER_DECODER_REGISTRY.__doc__ = __doc__


def build_transformer_decoder(cfg, in_channels):
    """The decoder named by ``MODEL.MASK_FORMER.TRANSFORMER_DECODER_NAME``."""
    name = cfg.MODEL.MASK_FORMER.TRANSFORMER_DECODER_NAME
    return TRANSFORMER_DECODER_REGISTRY.get(name)(cfg, in_channels)
