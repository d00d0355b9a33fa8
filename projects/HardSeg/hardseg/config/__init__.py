"""HardSeg's config keys, one ``add_*_config`` per concept (as DensePose's config does).

Config functions only add keys with their defaults; each key has a comment saying what it means
and which values it takes. ``add_hardseg_config`` is the one entry point the tools call.
"""

from .backbone import add_backbone_config, add_hrnet_config
from .base import add_base_config
from .cac import add_cac_config, add_ocr_config
from .checkpoint import add_checkpoint_config
from .classic import add_classic_config
from .efficient import add_efficient_config
from .evaluation import add_evaluation_config
from .hardness import add_hardness_config
from .efficiency import add_efficiency_config
from .heads import add_aux_head_config, add_pspnet_fcn_config
from .inference import add_inference_config
from .losses import add_losses_config
from .maskformer import add_maskformer_config
from .semisup import add_semisup_config
from .solver import add_solver_config
from .uda import add_uda_config


def add_hardseg_config(cfg):
    """Add every HardSeg key to a detectron2 config (DeepLab's keys first, which it builds on)."""
    add_base_config(cfg)
    add_hardness_config(cfg)
    add_pspnet_fcn_config(cfg)
    add_aux_head_config(cfg)
    add_evaluation_config(cfg)
    add_backbone_config(cfg)
    add_losses_config(cfg)
    add_inference_config(cfg)
    add_maskformer_config(cfg)
    add_solver_config(cfg)
    add_semisup_config(cfg)
    add_checkpoint_config(cfg)
    add_classic_config(cfg)
    add_cac_config(cfg)
    add_hrnet_config(cfg)
    add_ocr_config(cfg)
    add_efficient_config(cfg)
    add_uda_config(cfg)
    add_efficiency_config(cfg)
