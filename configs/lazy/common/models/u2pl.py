# Wrap a per-pixel model config into U2PL (hardseg.modeling.meta_arch.U2PL): two independently
# built student/teacher branches, each the model plus the embedding head, and the official U2PL
# constants (docs/methods/u2pl.md). The LazyConfig twin of the MODEL.SEMISUP block of
# configs/{voc,cityscapes}/semi-supervised/Base-*-U2PL.yaml; see those files for the choices.
from detectron2.config import LazyCall as L

from hardseg.modeling.meta_arch import U2PL, U2PLConfig
from hardseg.modeling.semisup import RepresentationHead, SegmentorWithEmbed


def u2pl_model(segmentor, *, num_classes, embed_in_channels, sup_only_epochs, norm="SyncBN"):
    """U2PL around ``segmentor`` (a per-pixel model config such as
    ``models/deeplabv3plus_u2pl.py``'s). ``embed_in_channels``: channels of the DeepLabV3+
    decoder concat (projected res2 + ASPP). ``config.epoch_iters`` is left for the experiment to
    set."""

    def branch():
        return L(SegmentorWithEmbed)(
            segmentor=segmentor,
            # Conv3x3 C->256, Conv3x3 256->256, Conv1x1 256->256, Dropout2d 0.1
            # (docs/methods/u2pl.md §2)
            rep_head=L(RepresentationHead)(
                in_channels=embed_in_channels, dim=256, dropout=0.1, norm=norm
            ),
            embed_in_feature="decoder_concat",
            device="${train.device}",  # SyncBN -> BN in a single process, as in the YAML form
        )

    return L(U2PL)(
        student=branch(),
        teacher=branch(),
        config=L(U2PLConfig)(
            num_classes=num_classes,
            ignore_value=255,
            epoch_iters="???",  # iterations per epoch of the split (docs/methods/u2pl.md §6 table)
            max_iter="${train.max_iter}",
            sup_only_epochs=sup_only_epochs,  # VOC 1, Cityscapes 0 (docs/methods/u2pl.md §5)
            ema_decay=0.99,  # docs/methods/u2pl.md §5
            unsup_weight=1.0,  # lambda_u (docs/methods/u2pl.md §4.4)
            mix="cutmix",  # docs/methods/u2pl.md §6
            mix_prob=0.5,  # docs/methods/u2pl.md §6, §9 #9
            eval_model="teacher",  # docs/methods/u2pl.md §7
            alpha0=20.0,  # 100 - drop_percent 80 (docs/methods/u2pl.md §5)
            # low/high rank 3/20, delta_p 0.3, 256 queries x 50 negatives, tau 0.5, queues
            # 30000/50000: the official values are U2PL's defaults (docs/methods/u2pl.md §4.3).
            contrast_weight=0.1,  # lambda_c of the paper (docs/methods/u2pl.md §4.3, §4.4, §9 #10)
            contrast_divide_by_world_size=False,
            negative_rule="official",  # docs/methods/u2pl.md §9 #1
            anchor_rule="official",  # docs/methods/u2pl.md §9 #4
            label_onehot="official",  # docs/methods/u2pl.md §13.1
            class_index="official",  # docs/methods/u2pl.md §9 #2, §13.2
            align_corners=True,  # docs/methods/u2pl.md §13.3
        ),
    )
