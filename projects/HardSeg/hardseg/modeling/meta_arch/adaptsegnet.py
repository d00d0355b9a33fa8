"""Stage 1 of the HIAST chain: AdaptSegNet's output-space adversarial warm-up over any per-pixel
HardSeg model (docs/methods/hiast.md §3).

Per iteration, on a source batch (labels) and a target batch (images only):

1. discriminator step (its own Adam, inside the forward): D learns source = 0, target = 1 on
   the detached softmax maps;
2. the returned losses, for the trainer's optimizer: ``loss_sem_seg`` (source, the head's loss)
   and ``loss_adv`` = LAMBDA x loss(D(softmax(target logits)), 0), which pushes target
   predictions to look like source ones.

The official trainer updates the generator before the discriminator; here the discriminator
goes first so that its in-place update does not touch the generator's graph.

Checkpoint keys: ``segmentor.*`` (the per-pixel model) and ``discriminator.*``; the
discriminator's optimizer is the extra checkpointable "discriminator_optimizer"
(:meth:`checkpointables`), restored by ``--resume``.
"""

import torch
import torch.nn.functional as F
from torch import nn

from detectron2.config import configurable
from detectron2.modeling import META_ARCH_REGISTRY
from detectron2.utils.events import get_event_storage

from ..preprocess import normalize_and_pad, pad_maps
from ..uda.discriminator import FCDiscriminator
from .teacher_student import build_per_pixel_model

__all__ = ["AdaptSegNetWarmup"]

ADV_LOSSES = ("mse", "bce")
SOURCE, TARGET = 0.0, 1.0


@META_ARCH_REGISTRY.register()
class AdaptSegNetWarmup(nn.Module):
    """Inputs: ``{"labeled": [source dicts with "sem_seg"], "unlabeled": [target dicts]}`` (the
    two-stream loader of ``DATASETS.TRAIN`` / ``DATASETS.TRAIN_UNLABELED``). Inference: the
    segmentor."""

    @configurable
    def __init__(
        self,
        *,
        segmentor: nn.Module,
        discriminator: nn.Module,
        adv_weight: float = 0.05,
        adv_loss: str = "mse",
        d_lr: float = 1e-4,
        d_betas=(0.9, 0.99),
    ):
        super().__init__()
        if adv_loss not in ADV_LOSSES:
            raise ValueError(f"MODEL.UDA.ADV.LOSS={adv_loss!r}; expected one of {ADV_LOSSES}.")
        self.segmentor = segmentor
        self.discriminator = discriminator
        self.adv_weight = adv_weight
        self.adv_loss = adv_loss
        # the trainer's optimizer skips parameters without requires_grad: D has its own
        for p in self.discriminator.parameters():
            p.requires_grad_(False)
        self.discriminator_optimizer = torch.optim.Adam(
            self.discriminator.parameters(), lr=d_lr, betas=tuple(d_betas)
        )
        self._register_load_state_dict_pre_hook(self._prefix_plain_model_keys)

    def _prefix_plain_model_keys(self, state_dict, prefix, *args):
        """A plain per-pixel model's checkpoint (the stage-0 model) initialises the segmentor."""
        keys = [k for k in state_dict if k.startswith(prefix)]
        ours = ("segmentor.", "discriminator.")
        if not keys or any(k[len(prefix) :].startswith(ours) for k in keys):
            return
        for k in keys:
            state_dict[f"{prefix}segmentor.{k[len(prefix):]}"] = state_dict.pop(k)

    @classmethod
    def from_config(cls, cfg):
        a = cfg.MODEL.UDA.ADV
        return {
            "segmentor": build_per_pixel_model(cfg, "AdaptSegNetWarmup"),
            "discriminator": FCDiscriminator(cfg.MODEL.SEM_SEG_HEAD.NUM_CLASSES, a.D_CHANNELS),
            "adv_weight": a.LAMBDA,
            "adv_loss": a.LOSS,
            "d_lr": a.D_LR,
            "d_betas": list(a.D_BETAS),
        }

    def checkpointables(self) -> dict:
        """Extra objects the trainer's checkpointer saves and restores."""
        return {"discriminator_optimizer": self.discriminator_optimizer}

    @property
    def device(self):
        return self.segmentor.pixel_mean.device

    def _domain_loss(self, d_out: torch.Tensor, domain: float) -> torch.Tensor:
        target = torch.full_like(d_out, domain)
        if self.adv_loss == "mse":
            return F.mse_loss(d_out, target)
        return F.binary_cross_entropy_with_logits(d_out, target)

    def _logits(self, images: torch.Tensor):
        """(head logits at the head's stride, logits upsampled to the input size)."""
        seg = self.segmentor
        z = seg.sem_seg_head.layers(seg.backbone(images))
        up = F.interpolate(
            z,
            size=images.shape[-2:],
            mode="bilinear",
            align_corners=getattr(seg.sem_seg_head, "align_corners", False),
        )
        return z, up

    def forward(self, batched_inputs):
        if not self.training:
            return self.segmentor(batched_inputs)
        if not isinstance(batched_inputs, dict) or set(batched_inputs) != {"labeled", "unlabeled"}:
            raise ValueError(
                "AdaptSegNetWarmup trains on source and target batches: set "
                "DATASETS.TRAIN (source) and DATASETS.TRAIN_UNLABELED (target)."
            )
        seg = self.segmentor
        div, mean, std = seg.backbone.size_divisibility, seg.pixel_mean, seg.pixel_std
        src = normalize_and_pad([x["image"] for x in batched_inputs["labeled"]], mean, std, div)
        tgt = normalize_and_pad([x["image"] for x in batched_inputs["unlabeled"]], mean, std, div)
        src, tgt = src.tensor, tgt.tensor
        labels = pad_maps(
            [x["sem_seg"].to(self.device) for x in batched_inputs["labeled"]],
            tuple(src.shape[-2:]),
            seg.sem_seg_head.ignore_value,
        )
        z_src, up_src = self._logits(src)
        _, up_tgt = self._logits(tgt)
        p_src, p_tgt = up_src.float().softmax(dim=1), up_tgt.float().softmax(dim=1)

        # 1. discriminator step on detached predictions
        params = list(self.discriminator.parameters())
        for p in params:
            p.requires_grad_(True)
        with torch.enable_grad():
            d_loss = 0.5 * (
                self._domain_loss(self.discriminator(p_src.detach()), SOURCE)
                + self._domain_loss(self.discriminator(p_tgt.detach()), TARGET)
            )
            self.discriminator_optimizer.zero_grad(set_to_none=True)
            d_loss.backward()
            self.discriminator_optimizer.step()
            self.discriminator_optimizer.zero_grad(set_to_none=True)
        for p in params:
            p.requires_grad_(False)

        # 2. the segmentor's losses
        ce = seg.sem_seg_head.losses(z_src, labels)["loss_sem_seg"]
        adv = self._domain_loss(self.discriminator(p_tgt), SOURCE)
        get_event_storage().put_scalar("loss_discriminator", float(d_loss.detach()))
        return {"loss_sem_seg": ce, "loss_adv": self.adv_weight * adv}
