"""Building blocks of the semi-supervised meta-architectures (U2PL, docs/methods/u2pl.md).

One concept per file: ``reliability.py`` (entropy partition, DPA / EMA schedules, reliable-pixel
CE), ``strong_aug.py`` (CutMix / CutOut / ClassMix on tensors), ``memory_queue.py`` (per-class
FIFO queues as buffers, cross-rank gather), ``contrastive.py`` (U2PL's InfoNCE with unreliable
negatives), ``ema.py`` (teacher copy / EMA updates), ``rep_head.py`` (embedding head and the
student/teacher wrapper), ``resize.py`` (bilinear / nearest resizing). The meta-architecture is
``hardseg.modeling.meta_arch.u2pl.U2PL``, on the teacher-student base
``hardseg.modeling.meta_arch.teacher_student``.
"""

from .contrastive import info_nce, negative_mask, u2pl_contrastive_loss
from .ema import copy_parameters_, ema_update_
from .memory_queue import ClassMemoryQueues, all_gather_rows
from .reliability import (
    ema_momentum,
    entropy_map,
    entropy_partition,
    percentile,
    reliable_pseudo_label_loss,
    u2pl_epoch,
    unreliable_percent,
)
from .rep_head import RepresentationHead, SegmentorWithEmbed, add_embedding_head
from .resize import resize_bilinear, resize_nearest
from .strong_aug import cutmix_box, mix_unlabeled_batch
