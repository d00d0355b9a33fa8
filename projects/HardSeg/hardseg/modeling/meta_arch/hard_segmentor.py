"""The per-pixel segmentation meta-architecture."""

from detectron2.config import configurable
from detectron2.modeling import META_ARCH_REGISTRY, SemanticSegmentor
from detectron2.modeling.postprocessing import sem_seg_postprocess

from ..heads.fcn_head import build_aux_head
from ..inference import InferenceConfig, multi_scale_inference, pad_to_divisible
from ..preprocess import batch_loss_inputs, normalize_and_pad, pad_maps
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
        images = normalize_and_pad(
            [x["image"] for x in batched_inputs],
            self.pixel_mean,
            self.pixel_std,
            self.backbone.size_divisibility,
        ).tensor
        size = tuple(images.shape[-2:])
        head = self.sem_seg_head
        targets = pad_maps(
            [x["sem_seg"].to(self.device) for x in batched_inputs], size, head.ignore_value
        )
        loss_inputs = batch_loss_inputs(
            batched_inputs, getattr(head, "required_loss_inputs", ()), size, self.device
        )
        features = self.backbone(images)
        if getattr(head, "wants_head_features", False):  # CAC, OCRNet: reuse layers()' taps
            logits, taps = head.layers(features, return_features=True)
            losses = head.losses(
                logits, targets, features=features, loss_inputs=loss_inputs, head_features=taps
            )
        else:
            losses = head.losses(
                head.layers(features), targets, features=features, loss_inputs=loss_inputs
            )
        if self.aux_head is not None:
            aux = self.aux_head.losses(self.aux_head.layers(features), targets, features=features)
            losses["loss_aux"] = aux["loss_sem_seg"]
        return losses

    def logits_fn(self, images):
        """Normalised images (N, 3, h, w), h and w multiples of ``size_divisibility`` -> logits
        (N, K, h, w): backbone, then the head in inference mode."""
        logits, _ = self.sem_seg_head(self.backbone(images), None)
        return logits

    def inference(self, batched_inputs):
        """Per image: normalise, run :func:`multi_scale_inference` (whole / slide, ratios, flip
        from ``self.inference_config``) on ``logits_fn`` padded to ``size_divisibility``, resize
        to the input's ``height`` x ``width``. Returns ``[{"sem_seg": (K, height, width)}]``."""
        fn = pad_to_divisible(self.logits_fn, self.backbone.size_divisibility)
        results = []
        for x in batched_inputs:
            image = normalize_and_pad([x["image"]], self.pixel_mean, self.pixel_std).tensor
            logits = multi_scale_inference(fn, image, self.inference_config)[0]
            size = tuple(image.shape[-2:])
            height, width = x.get("height", size[0]), x.get("width", size[1])
            results.append({"sem_seg": sem_seg_postprocess(logits, size, height, width)})
        return results
