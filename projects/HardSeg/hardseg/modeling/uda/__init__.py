"""Unsupervised domain adaptation parts (HIAST: docs/methods/hiast.md)."""

from .bn import freeze_bn_affine_
from .discriminator import FCDiscriminator
from .ias import IASThresholds, ias_batch_thresholds
from .losses import consistency_loss, entropy_loss, kld_to_uniform, pseudo_label_ce
