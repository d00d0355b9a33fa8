from .build import SEM_SEG_LOSS_REGISTRY, build_sem_seg_loss
from .cross_entropy import PixelCrossEntropy
from .hardness import hardness_losses, hardness_weights
