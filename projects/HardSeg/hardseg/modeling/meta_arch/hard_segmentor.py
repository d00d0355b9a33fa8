"""The per-pixel segmentation meta-architecture."""

import contextlib

import torch

from detectron2.config import configurable
from detectron2.modeling import META_ARCH_REGISTRY, SemanticSegmentor
from detectron2.modeling.postprocessing import sem_seg_postprocess
from detectron2.structures import ImageList

from ..heads.fcn_head import build_aux_head
from ..inference import InferenceConfig, multi_scale_inference, pad_to_divisible

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
        self.aux_head = aux_head
        self.inference_config = inference
        sync_bn_fallback(self, device)

    @classmethod
    def from_config(cls, cfg):
        ret = SemanticSegmentor.from_config.__func__(cls, cfg)
        ret["device"] = cfg.MODEL.DEVICE
        ret["aux_head"] = build_aux_head(cfg, ret["backbone"].output_shape())
        ret["inference"] = InferenceConfig.from_config(cfg)
        return ret

    def forward(self, batched_inputs):
        """Training: :meth:`_forward_train`, with the distance maps the head's loss needs.
        Inference: :meth:`inference` (whole / sliding-window / multi-scale + flip, ``TEST.*``)."""
        if not self.training:
            return self.inference(batched_inputs)
        with self._head_loss_inputs(batched_inputs):
            return self._forward_train(batched_inputs)

    def _forward_train(self, batched_inputs):
        """``SemanticSegmentor.forward``, plus ``loss_aux`` in training when there is an
        auxiliary head (same normalised, padded images and targets as the decode head)."""
        if self.aux_head is None:
            return super().forward(batched_inputs)
        images = [
            (x["image"].to(self.device) - self.pixel_mean) / self.pixel_std for x in batched_inputs
        ]
        images = ImageList.from_tensors(images, self.backbone.size_divisibility)
        targets = [x["sem_seg"].to(self.device) for x in batched_inputs]
        targets = ImageList.from_tensors(
            targets, self.backbone.size_divisibility, self.sem_seg_head.ignore_value
        ).tensor
        features = self.backbone(images.tensor)
        _, losses = self.sem_seg_head(features, targets)
        _, aux_losses = self.aux_head(features, targets)
        losses["loss_aux"] = aux_losses["loss_sem_seg"]
        return losses

    def _head_loss_inputs(self, batched_inputs):
        """Context that hands the head the per-sample maps its loss needs (``signed_dist``,
        ``dist_penalty`` from the mapper), padded like the targets (with 0)."""
        needed = getattr(self.sem_seg_head, "required_loss_inputs", ())
        if not needed:
            return contextlib.nullcontext()
        missing = [n for n in needed if n not in batched_inputs[0]]
        if missing:
            raise ValueError(
                f"the head's loss needs {missing} in every input dict; build the training "
                "loader with SemanticDatasetMapper(cfg, is_train=True), which computes them."
            )
        maps = {
            n: ImageList.from_tensors(
                [x[n].to(self.device, torch.float32) for x in batched_inputs],
                self.backbone.size_divisibility,
                0.0,
            ).tensor
            for n in needed
        }
        return self.sem_seg_head.loss_inputs(**maps)

    def logits_fn(self, images: torch.Tensor) -> torch.Tensor:
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
            image = ((x["image"].to(self.device) - self.pixel_mean) / self.pixel_std)[None]
            logits = multi_scale_inference(fn, image, self.inference_config)[0]
            size = tuple(image.shape[-2:])
            height, width = x.get("height", size[0]), x.get("width", size[1])
            results.append({"sem_seg": sem_seg_postprocess(logits, size, height, width)})
        return results
