"""Transformer decoders of mask-classification heads (their own registry, see :mod:`.build`)."""

from .build import TRANSFORMER_DECODER_REGISTRY, build_transformer_decoder
from .masked_attention_decoder import MultiScaleMaskedTransformerDecoder
from .position_encoding import PositionEmbeddingSine
