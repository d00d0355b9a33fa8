"""U2PL's representation (embedding) head, and a per-pixel model that returns logits + embeddings.

See docs/methods/u2pl.md §2 (official ``dec_deeplabv3_plus.representation`` in
``u2pl/models/decoder.py``).
"""

from typing import Dict

import torch
from torch import nn

from detectron2.layers import get_norm

from ..sync_bn import sync_bn_fallback

__all__ = [
    "EMBED_IN_FEATURES",
    "RepresentationHead",
    "SegmentorWithEmbed",
    "add_embedding_head",
    "embed_in_channels",
]

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


def embed_in_channels(head: nn.Module, which: str) -> int:
    """Channels of the head feature ``which`` that the embedding head reads, from the head's
    ``feature_channels`` (the features its ``layers(..., return_features=True)`` returns).

    "decoder_concat": DeepLabV3+'s input of the finest stage's fuse conv ([projected low-level
    feature, upsampled ASPP output]); "pre_classifier": the predictor's input.
    """
    if which not in EMBED_IN_FEATURES:
        raise ValueError(
            f"MODEL.SEMISUP.U2PL.EMBED_IN_FEATURE={which!r}; expected one of {EMBED_IN_FEATURES}."
        )
    channels = dict(getattr(head, "feature_channels", {}))
    if which not in channels:
        hint = " Use 'pre_classifier'." if "pre_classifier" in channels else ""
        raise ValueError(
            f"EMBED_IN_FEATURE={which!r}: {type(head).__name__}.layers() returns the features "
            f"{sorted(channels)}, not {which!r} (decoder_concat: DeepLabV3+ heads only).{hint}"
        )
    return channels[which]


class SegmentorWithEmbed(nn.Module):
    """A per-pixel segmentor (``HardSegmentor``: ``backbone``, ``sem_seg_head`` with
    ``layers()``, optional ``aux_head``) plus a :class:`RepresentationHead` that reads the head
    feature ``embed_in_feature``, which ``sem_seg_head.layers(features, return_features=True)``
    returns next to the logits. Student and teacher are two instances. ``state_dict`` keys:
    ``segmentor.*`` (the plain model's keys behind a prefix) and ``rep_head.*``.
    """

    def __init__(
        self,
        segmentor: nn.Module,
        rep_head: RepresentationHead,
        embed_in_feature: str,
        device: str = "cpu",
    ):
        """``device``: where the model will run; decides the embedding head's SyncBN fallback,
        as for :class:`HardSegmentor` (``MODEL.DEVICE``, ``train.device``)."""
        super().__init__()
        self.segmentor = segmentor
        self.rep_head = sync_bn_fallback(rep_head, device)
        self.embed_in_feature = embed_in_feature
        channels = embed_in_channels(segmentor.sem_seg_head, embed_in_feature)
        if channels != rep_head.in_channels:
            raise ValueError(
                f"the embedding head takes {rep_head.in_channels} channels but the "
                f"{embed_in_feature!r} feature has {channels}"
            )

    def forward(self, images: torch.Tensor) -> Dict[str, torch.Tensor]:
        """Normalised, padded images (N, 3, H, W) ->
        ``{"sem_seg_logits": (N, K, h, w), "embed": (N, D, h, w), "aux_logits": (N, K, h', w')
        (only with an aux head), "features": backbone dict}``; (h, w) = the head's output
        resolution (H/4 for DeepLabV3+), the same for logits and embeddings."""
        seg = self.segmentor
        features = seg.backbone(images)
        logits, head_features = seg.sem_seg_head.layers(features, return_features=True)
        embed = self.rep_head(head_features[self.embed_in_feature])
        out = {"sem_seg_logits": logits, "embed": embed, "features": features}
        if getattr(seg, "aux_head", None) is not None:
            out["aux_logits"] = seg.aux_head.layers(features)
        if embed.shape[-2:] != logits.shape[-2:]:
            raise ValueError(
                f"embeddings {tuple(embed.shape[-2:])} and logits "
                f"{tuple(logits.shape[-2:])} must have the same resolution"
            )
        return out


def add_embedding_head(cfg, segmentor) -> SegmentorWithEmbed:
    """A student (or teacher) branch: the per-pixel model plus the embedding head of
    ``MODEL.SEMISUP.U2PL.EMBED_*``."""
    u = cfg.MODEL.SEMISUP.U2PL
    channels = embed_in_channels(segmentor.sem_seg_head, u.EMBED_IN_FEATURE)
    rep_head = RepresentationHead(channels, u.EMBED_DIM, u.EMBED_DROPOUT, u.EMBED_NORM)
    return SegmentorWithEmbed(segmentor, rep_head, u.EMBED_IN_FEATURE, cfg.MODEL.DEVICE)
