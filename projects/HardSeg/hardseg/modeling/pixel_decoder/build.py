"""PIXEL_DECODER_REGISTRY: the pixel decoders of mask-classification heads.

A pixel decoder is built as ``PIXEL_DECODER_REGISTRY.get(name)(cfg, input_shape)`` (classes use
``@configurable``) with ``input_shape`` the backbone's ``dict[str, ShapeSpec]``. Its
``forward(features)`` takes the backbone features ``{"res2": (N, C_2, H/4, W/4), ...}`` and
returns ``(mask_features, multi_scale_features)``:

* ``mask_features``: (N, MASK_DIM, H/s, W/s) with s = the stride of its finest input (4);
* ``multi_scale_features``: list of ``num_feature_levels`` maps (N, CONVS_DIM, H_l, W_l), from
  the coarsest to the finest, read by the transformer decoder round-robin.
"""

from detectron2.utils.registry import Registry

from ..shape_spec import as_shape_specs

__all__ = ["PIXEL_DECODER_REGISTRY", "build_pixel_decoder", "as_shape_specs"]

PIXEL_DECODER_REGISTRY = Registry("PIXEL_DECODER")
PIXEL_DECODER_REGISTRY.__doc__ = __doc__


def build_pixel_decoder(cfg, input_shape):
    """The pixel decoder named by ``MODEL.SEM_SEG_HEAD.PIXEL_DECODER_NAME``."""
    return PIXEL_DECODER_REGISTRY.get(cfg.MODEL.SEM_SEG_HEAD.PIXEL_DECODER_NAME)(cfg, input_shape)
