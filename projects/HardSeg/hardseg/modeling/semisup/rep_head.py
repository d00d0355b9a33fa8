"""U2PL's representation (embedding) head, and a per-pixel model that returns logits + embeddings.

See docs/methods/u2pl.md §2 (official ``dec_deeplabv3_plus.representation`` in
``u2pl/models/decoder.py``).
"""

from typing import Dict, Optional

import torch
from torch import nn

from detectron2.layers import get_norm

__all__ = ["EMBED_IN_FEATURES", "RepresentationHead", "SegmentorWithEmbed"]

EMBED_IN_FEATURES = ("decoder_concat", "pre_classifier")


class RepresentationHead(nn.Sequential):
    """Conv3x3 C->D (bias) + norm + ReLU + Dropout2d, Conv3x3 D->D (bias) + norm + ReLU +
    Dropout2d, Conv1x1 D->D (bias). No L2 norm: the loss uses cosine similarity.
    (N, C, h, w) -> ``embed`` (N, D, h, w)."""

    def __init__(self, in_channels: int, dim: int = 256, dropout: float = 0.1, norm: str = "BN"):
        super().__init__(
            nn.Conv2d(in_channels, dim, 3, padding=1, bias=True),
            get_norm(norm, dim),
            nn.ReLU(inplace=True),
            nn.Dropout2d(dropout),
            nn.Conv2d(dim, dim, 3, padding=1, bias=True),
            get_norm(norm, dim),
            nn.ReLU(inplace=True),
            nn.Dropout2d(dropout),
            nn.Conv2d(dim, dim, 1, bias=True),
        )
        self.in_channels = in_channels
        self.dim = dim


def _inner_head(head: nn.Module) -> nn.Module:
    # HardnessHead (the HL wrapper) keeps the decode head as ``seg``.
    return getattr(head, "seg", head)


def embed_input_module(head: nn.Module, which: str):
    """The module whose *input* is the embedding head's feature, and that input's channels.

    "decoder_concat": DeepLabV3+'s first fuse conv of the highest-resolution stage (its input is
    [projected low-level feature, upsampled ASPP output]); "pre_classifier": ``head.predictor``.
    """
    if which not in EMBED_IN_FEATURES:
        raise ValueError(
            f"MODEL.SEMISUP.U2PL.EMBED_IN_FEATURE={which!r}; expected one of {EMBED_IN_FEATURES}."
        )
    inner = _inner_head(head)
    if which == "decoder_concat":
        decoder = getattr(inner, "decoder", None)
        fuse = None
        if decoder is not None and getattr(inner, "in_features", None):
            fuse = decoder[inner.in_features[0]]["fuse_conv"]
        if not isinstance(fuse, nn.Sequential) or not hasattr(fuse[0], "in_channels"):
            raise ValueError(
                f"EMBED_IN_FEATURE='decoder_concat' needs a DeepLabV3+ head with 3x3 fuse convs; "
                f"{type(inner).__name__} has none. Use 'pre_classifier'."
            )
        return fuse, fuse[0].in_channels
    predictor = getattr(inner, "predictor", None)
    if not isinstance(predictor, nn.Conv2d):
        raise ValueError(
            f"EMBED_IN_FEATURE='pre_classifier' needs a head with a Conv2d 'predictor'; "
            f"{type(inner).__name__} has {predictor!r}."
        )
    return predictor, predictor.in_channels


class SegmentorWithEmbed(nn.Module):
    """A per-pixel segmentor (``HardSegmentor``: ``backbone``, ``sem_seg_head`` with
    ``layers()``, optional ``aux_head``) plus a :class:`RepresentationHead` that reads a decoder
    feature, tapped with a forward pre-hook on ``embed_input_module`` (registered here, in
    ``__init__``). Student and teacher are two instances. ``state_dict`` keys:
    ``segmentor.*`` (the plain model's keys behind a prefix) and ``rep_head.*``.
    """

    def __init__(self, segmentor: nn.Module, rep_head: RepresentationHead, embed_in_feature: str):
        super().__init__()
        self.segmentor = segmentor
        self.rep_head = rep_head
        self.embed_in_feature = embed_in_feature
        tap, channels = embed_input_module(segmentor.sem_seg_head, embed_in_feature)
        if channels != rep_head.in_channels:
            raise ValueError(
                f"the embedding head takes {rep_head.in_channels} channels but the "
                f"{embed_in_feature!r} feature has {channels}"
            )
        self._tapped: Optional[torch.Tensor] = None
        tap.register_forward_pre_hook(self._tap)

    def _tap(self, module, inputs):
        self._tapped = inputs[0]

    def forward(self, images: torch.Tensor) -> Dict[str, torch.Tensor]:
        """Normalised, padded images (N, 3, H, W) ->
        ``{"sem_seg_logits": (N, K, h, w), "embed": (N, D, h, w), "aux_logits": (N, K, h', w')
        (only with an aux head), "features": backbone dict}``; (h, w) = the head's output
        resolution (H/4 for DeepLabV3+), the same for logits and embeddings."""
        seg = self.segmentor
        features = seg.backbone(images)
        self._tapped = None
        logits = seg.sem_seg_head.layers(features)
        tapped, self._tapped = self._tapped, None
        if tapped is None:
            raise RuntimeError("the embedding feature was not computed by the head's layers()")
        out = {"sem_seg_logits": logits, "embed": self.rep_head(tapped), "features": features}
        if getattr(seg, "aux_head", None) is not None:
            out["aux_logits"] = seg.aux_head.layers(features)
        if out["embed"].shape[-2:] != logits.shape[-2:]:
            raise ValueError(
                f"embeddings {tuple(out['embed'].shape[-2:])} and logits "
                f"{tuple(logits.shape[-2:])} must have the same resolution"
            )
        return out
