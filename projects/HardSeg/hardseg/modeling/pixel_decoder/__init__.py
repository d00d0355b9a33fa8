"""Pixel decoders of mask-classification heads (their own registry, see :mod:`.build`)."""

from .build import PIXEL_DECODER_REGISTRY, build_pixel_decoder
from .fpn_pixel_decoder import FPNPixelDecoder
from .msdeform_pixel_decoder import MSDeformAttnPixelDecoder
