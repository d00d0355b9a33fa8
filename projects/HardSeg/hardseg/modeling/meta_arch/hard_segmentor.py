"""The per-pixel segmentation meta-architecture."""

from detectron2.config import configurable
from detectron2.modeling import META_ARCH_REGISTRY, SemanticSegmentor

from ..sync_bn import sync_bn_fallback


@META_ARCH_REGISTRY.register()
class HardSegmentor(SemanticSegmentor):
    """detectron2's :class:`SemanticSegmentor` (normalise, pad, backbone -> per-pixel head,
    resize the logits to each input's ``height`` x ``width``) plus one thing: SyncBN layers turn into
    BN when the model is built where SyncBN cannot run (one process, or CPU), with one log line.

    Inputs are the dicts of :class:`hardseg.data.SemanticDatasetMapper`: ``image`` (3, H, W) uint8 or
    float in the config's ``INPUT.FORMAT``, ``sem_seg`` (H, W) int64 in training; outputs in eval are
    ``[{"sem_seg": (K, height, width) logits}]``.
    """

    @configurable
    def __init__(self, *, backbone, sem_seg_head, pixel_mean, pixel_std, device="cpu"):
        """
        Args:
            backbone, sem_seg_head, pixel_mean, pixel_std: as for ``SemanticSegmentor``.
            device: where the model will run; decides the SyncBN fallback (the caller still moves
                the model there, as detectron2's ``build_model`` does).
        """
        super().__init__(
            backbone=backbone, sem_seg_head=sem_seg_head, pixel_mean=pixel_mean, pixel_std=pixel_std
        )
        sync_bn_fallback(self, device)

    @classmethod
    def from_config(cls, cfg):
        ret = SemanticSegmentor.from_config.__func__(cls, cfg)
        ret["device"] = cfg.MODEL.DEVICE
        return ret
