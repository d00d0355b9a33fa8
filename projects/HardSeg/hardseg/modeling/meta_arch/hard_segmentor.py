"""The per-pixel segmentation meta-architecture."""

from typing import Optional, Tuple

import torch
from torch.nn import functional as F

from detectron2.config import configurable
from detectron2.modeling import META_ARCH_REGISTRY, SemanticSegmentor
from detectron2.modeling.postprocessing import sem_seg_postprocess

from ..heads.fcn_head import build_aux_head
from ..inference import InferenceConfig, multi_scale_inference, pad_to_divisible
from ..losses import fixed_hardness_weights
from ..preprocess import batch_hardness_maps, batch_loss_inputs, normalize_and_pad, pad_maps
from ..sync_bn import sync_bn_fallback


@META_ARCH_REGISTRY.register()
class HardSegmentor(SemanticSegmentor):
    """detectron2's :class:`SemanticSegmentor` (normalise, pad, backbone -> per-pixel head,
    resize the logits to each input's ``height`` x ``width``) plus one thing: SyncBN layers turn into
    BN when the model is built where SyncBN cannot run (one process, or CPU), with one log line.

    Inputs are the dicts of :class:`hardseg.data.SemanticDatasetMapper`: ``image`` (3, H, W) uint8 or
    float in the config's ``INPUT.FORMAT``, ``sem_seg`` (H, W) int64 in training, plus the distance
    maps the head's loss needs; outputs in eval are ``[{"sem_seg": (K, height, width) logits}]``.

    The head follows HardSeg's per-pixel contract (``hardseg.modeling.heads``): training calls
    ``head.layers(features)`` then ``head.losses(logits, targets, features=..., loss_inputs=...)``,
    and the same for the optional auxiliary head.
    """

    @configurable
    def __init__(
        self,
        *,
        backbone,
        sem_seg_head,
        pixel_mean,
        pixel_std,
        device="cpu",
        aux_head=None,
        inference=InferenceConfig(),
        pad_to_size: Optional[Tuple[int, int]] = None,
        fixed_hardness_eps: Optional[float] = None,
    ):
        """
        Args:
            backbone, sem_seg_head, pixel_mean, pixel_std: as for ``SemanticSegmentor``.
            device: where the model will run; decides the SyncBN fallback (the caller still moves
                the model there, as detectron2's ``build_model`` does).
            aux_head: optional auxiliary per-pixel head (``MODEL.AUX_HEAD``, e.g. FCN on res4),
                trained only: its plain loss (weight included) is returned as ``loss_aux``; it
                never runs at inference and is never HL-weighted.
            inference: :class:`hardseg.modeling.inference.InferenceConfig` (``TEST.MODE``,
                ``TEST.SLIDE.*``, ``TEST.AUG.*``); default whole-image.
            pad_to_size: None (pad each batch to its largest image, rounded up to the backbone's
                ``size_divisibility``), or (H, W): mmseg's ``Pad`` geometry
                (``INPUT.CROP.PAD_TO_SIZE``): every training image and label is padded to
                exactly (H, W), and inference runs unpadded, each head resizing its logits to the
                input (or slide window) size.
            fixed_hardness_eps: None, or eps of the fixed-map HL variant
                (``MODEL.HARDNESS.SOURCE "fixed"``): the decode head's per-pixel loss is
                weighted by ``w = (m + eps) / sum(m + eps)``, m the inputs' ``hardness`` maps
                padded with 0, the sum over the per-process batch.
        """
        super().__init__(
            backbone=backbone, sem_seg_head=sem_seg_head, pixel_mean=pixel_mean, pixel_std=pixel_std
        )
        for head in (sem_seg_head, aux_head):
            missing = [a for a in ("layers", "losses") if not hasattr(head, a)]
            if head is not None and missing:
                raise ValueError(
                    f"HardSegmentor needs per-pixel heads with layers() and losses() "
                    f"(hardseg.modeling.heads); {type(head).__name__} has no {missing}."
                )
        self.aux_head = aux_head
        self.inference_config = inference
        self.fixed_hardness_eps = fixed_hardness_eps
        self.pad_to_size = None if pad_to_size is None else tuple(int(v) for v in pad_to_size)
        sync_bn_fallback(self, device)

    @classmethod
    def from_config(cls, cfg):
        if cfg.MODEL.CAC.ENABLED:
            raise ValueError(
                "MODEL.CAC.ENABLED=True is for MODEL.META_ARCHITECTURE='HardMaskFormer'; a "
                "per-pixel model turns CAC on with MODEL.SEM_SEG_HEAD.NAME="
                "'ConfidenceAwareContrastiveHead' and MODEL.CAC.HEAD_NAME (docs/methods/cac.md §1)."
            )
        ret = SemanticSegmentor.from_config.__func__(cls, cfg)
        ret["device"] = cfg.MODEL.DEVICE
        ret["aux_head"] = build_aux_head(cfg, ret["backbone"].output_shape())
        ret["inference"] = InferenceConfig.from_config(cfg)
        ret["pad_to_size"] = pad_to_size_from_config(cfg)
        ret["fixed_hardness_eps"] = fixed_hardness_eps_from_config(cfg)
        return ret

    def forward(self, batched_inputs):
        """Training: :meth:`forward_train`. Inference: :meth:`inference` (whole / sliding-window
        / multi-scale + flip, ``TEST.*``)."""
        if not self.training:
            return self.inference(batched_inputs)
        if any("sem_seg" not in x for x in batched_inputs):
            raise ValueError(
                "HardSegmentor trains on inputs with 'sem_seg' (H, W); build the training loader "
                "with SemanticDatasetMapper(cfg, is_train=True)."
            )
        return self.forward_train(batched_inputs)

    def forward_train(self, batched_inputs):
        """Normalise and pad the images, pad the targets (ignore value) and the loss maps (0)
        to the same size; backbone, then the head's ``losses`` (and ``loss_aux`` from the
        auxiliary head's ``"loss_sem_seg"`` when there is one)."""
        images = [x["image"] for x in batched_inputs]
        if self.pad_to_size is None:
            images = normalize_and_pad(
                images, self.pixel_mean, self.pixel_std, self.backbone.size_divisibility
            ).tensor
        else:
            images = normalize_and_pad_to(images, self.pixel_mean, self.pixel_std, self.pad_to_size)
        size = tuple(images.shape[-2:])
        head = self.sem_seg_head
        targets = pad_maps(
            [x["sem_seg"].to(self.device) for x in batched_inputs], size, head.ignore_value
        )
        loss_inputs = batch_loss_inputs(
            batched_inputs, getattr(head, "required_loss_inputs", ()), size, self.device
        )
        features = self.backbone(images)
        kwargs = {"features": features, "loss_inputs": loss_inputs}
        if self.fixed_hardness_eps is not None:
            kwargs["pixel_weights"] = self.fixed_hardness_weights(batched_inputs, size)
        if getattr(head, "wants_head_features", False):  # CAC, OCRNet: reuse layers()' taps
            logits, taps = head.layers(features, return_features=True)
            losses = head.losses(logits, targets, head_features=taps, **kwargs)
        else:
            losses = head.losses(head.layers(features), targets, **kwargs)
        if self.aux_head is not None:
            aux = self.aux_head.losses(self.aux_head.layers(features), targets, features=features)
            losses["loss_aux"] = aux["loss_sem_seg"]
        return losses

    def fixed_hardness_weights(self, batched_inputs, size) -> torch.Tensor:
        """(N, H, W) float32 weights ``(m + eps) / sum(m + eps)`` from the inputs' ``hardness``
        maps (padded with 0 to ``size``)."""
        maps = batch_hardness_maps(batched_inputs, size, self.device)
        return fixed_hardness_weights(maps, self.fixed_hardness_eps)

    def logits_fn(self, images):
        """Normalised images (N, 3, h, w), h and w multiples of ``size_divisibility`` -> logits
        (N, K, h, w): backbone, then the head in inference mode."""
        logits, _ = self.sem_seg_head(self.backbone(images), None)
        return logits

    def exact_logits_fn(self, images):
        """Normalised images (N, 3, h, w) of any size -> logits (N, K, h, w): backbone, the
        head's ``layers``, then its ``upsample`` to exactly (h, w) (mmseg's and the official
        U2PL inference, used with :attr:`resizes_logits_to_input`)."""
        head = self.sem_seg_head
        return head.upsample(head.layers(self.backbone(images)), images.shape[-2:])

    @property
    def resizes_logits_to_input(self) -> bool:
        """Whether inference runs each image (or slide window) unpadded with its logits resized
        to exactly its size (:meth:`exact_logits_fn`): with ``pad_to_size`` (mmseg's geometry),
        and with a ceil-mode stem max-pool (``MODEL.RESNETS.STEM_POOL_CEIL_MODE``, the official
        U2PL network), whose stride-4 grid has one cell more than H/4 for even stem sizes, so that
        upsampling x4 and cropping would shift the logits (docs/methods/u2pl.md §13.4)."""
        return self.pad_to_size is not None or getattr(self.backbone, "stem_pool_ceil_mode", False)

    def inference(self, batched_inputs):
        """Per image: normalise, run :func:`multi_scale_inference` (whole / slide, ratios, flip
        from ``self.inference_config``) on ``logits_fn`` padded to ``size_divisibility`` (with
        :attr:`resizes_logits_to_input`: on :meth:`exact_logits_fn`, unpadded), resize
        to the input's ``height`` x ``width``. Returns ``[{"sem_seg": (K, height, width)}]``."""
        if self.resizes_logits_to_input:
            fn = self.exact_logits_fn
        else:
            fn = pad_to_divisible(self.logits_fn, self.backbone.size_divisibility)
        results = []
        for x in batched_inputs:
            image = normalize_and_pad([x["image"]], self.pixel_mean, self.pixel_std).tensor
            logits = multi_scale_inference(fn, image, self.inference_config)[0]
            size = tuple(image.shape[-2:])
            height, width = x.get("height", size[0]), x.get("width", size[1])
            results.append({"sem_seg": sem_seg_postprocess(logits, size, height, width)})
        return results


def pad_to_size_from_config(cfg) -> Optional[Tuple[int, int]]:
    """``INPUT.CROP.SIZE`` as (H, W) when ``INPUT.CROP.PAD_TO_SIZE`` is on, else None.

    Raises:
        ValueError: PAD_TO_SIZE without an enabled absolute crop (there is no fixed size).
    """
    crop = cfg.INPUT.CROP
    if not crop.get("PAD_TO_SIZE", False):
        return None
    if not crop.ENABLED or crop.TYPE != "absolute":
        raise ValueError(
            f"INPUT.CROP.PAD_TO_SIZE is True but INPUT.CROP is ENABLED={crop.ENABLED}, "
            f"TYPE={crop.TYPE!r}; padding to the crop size needs an enabled 'absolute' crop "
            "(or set PAD_TO_SIZE False)."
        )
    return (int(crop.SIZE[0]), int(crop.SIZE[1]))


def normalize_and_pad_to(images, pixel_mean, pixel_std, size) -> torch.Tensor:
    """mmseg's ``Normalize`` then ``Pad(size)``: ``(image - mean) / std`` per image (3, H_i, W_i),
    zero-padded on the bottom/right to exactly ``size`` = (H, W) -> (N, 3, H, W).

    Raises:
        ValueError: an image larger than ``size`` (the crop should have made it at most that).
    """
    for x in images:
        if x.shape[-2] > size[0] or x.shape[-1] > size[1]:
            raise ValueError(
                f"INPUT.CROP.PAD_TO_SIZE pads training images to INPUT.CROP.SIZE={tuple(size)}, "
                f"but an image is {tuple(x.shape[-2:])}; the crop must not be larger."
            )
    out = normalize_and_pad(images, pixel_mean, pixel_std).tensor
    return F.pad(out, (0, size[1] - out.shape[-1], 0, size[0] - out.shape[-2]), value=0.0)


def fixed_hardness_eps_from_config(cfg) -> Optional[float]:
    """``MODEL.HARDNESS.EPS`` when ``MODEL.HARDNESS.SOURCE`` is "fixed", else None.

    Raises:
        ValueError: an unknown SOURCE, or "fixed" with a HardnessHead (online HL) or without
            ``INPUT.HARDNESS_MAP_DIR``.
    """
    h = cfg.MODEL.HARDNESS
    source = h.get("SOURCE", "online")
    if source not in ("online", "fixed"):
        raise ValueError(f"MODEL.HARDNESS.SOURCE={source!r}; expected 'online' or 'fixed'.")
    if source == "online":
        return None
    if cfg.MODEL.SEM_SEG_HEAD.NAME == "HardnessHead":
        raise ValueError(
            "MODEL.HARDNESS.SOURCE 'fixed' weights a plain head by exported maps; set "
            "MODEL.SEM_SEG_HEAD.NAME to the head itself (e.g. MODEL.HARDNESS.HEAD_NAME), not "
            "'HardnessHead'."
        )
    if not cfg.INPUT.get("HARDNESS_MAP_DIR", ""):
        raise ValueError(
            "MODEL.HARDNESS.SOURCE is 'fixed' but INPUT.HARDNESS_MAP_DIR is empty; point it to "
            "the maps written by tools/export_hardness_maps.py."
        )
    return float(h.EPS)
