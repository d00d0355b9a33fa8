# Mask2Former-style semantic segmentation (HardMaskFormer): the LazyConfig twin of the YAML
# maskformer2 configs. Defaults are the Cityscapes R50 model (detectron2 ResNet-50 with SyncBN,
# deformable-attention pixel decoder, masked-attention decoder, K = 19); experiments change the
# fields they need. Set model.hardness_branch (see mask2former_hl.py) for HL.
from detectron2.config import LazyCall as L
from detectron2.modeling.backbone import BasicStem, ResNet

from hardseg.modeling.meta_arch import HardMaskFormer
from hardseg.modeling.mask_former import (
    HungarianMatcher,
    MaskClassificationCriterion,
    MaskFormerHead,
)
from hardseg.modeling.pixel_decoder import MSDeformAttnPixelDecoder
from hardseg.modeling.transformer_decoder import MultiScaleMaskedTransformerDecoder

model = L(HardMaskFormer)(
    backbone=L(ResNet)(
        stem=L(BasicStem)(in_channels=3, out_channels=64, norm="SyncBN"),
        stages=L(ResNet.make_default_stages)(depth=50, stride_in_1x1=False, norm="SyncBN"),
        out_features=["res2", "res3", "res4", "res5"],
        freeze_at=0,
    ),
    sem_seg_head=L(MaskFormerHead)(
        pixel_decoder=L(MSDeformAttnPixelDecoder)(
            # channels/strides of the backbone outputs (LazyCall skips from_config)
            input_shape={
                "res2": dict(channels=256, stride=4),
                "res3": dict(channels=512, stride=8),
                "res4": dict(channels=1024, stride=16),
                "res5": dict(channels=2048, stride=32),
            },
            transformer_in_features=["res3", "res4", "res5"],
            conv_dim=256,
            mask_dim=256,
            norm="GN",
            encoder_layers=6,
            encoder_heads=8,
            encoder_points=4,
            encoder_dim_feedforward=1024,
            encoder_dropout=0.0,
            num_feature_levels=3,
        ),
        predictor=L(MultiScaleMaskedTransformerDecoder)(
            in_channels="${..pixel_decoder.conv_dim}",
            num_classes="${..num_classes}",
            hidden_dim=256,
            num_queries=100,
            nheads=8,
            dim_feedforward=2048,
            dec_layers=10,  # 9 layers + the learnable-query prediction
            pre_norm=False,
            mask_dim="${..pixel_decoder.mask_dim}",
            enforce_input_project=False,
            num_feature_levels=3,
            dropout=0.0,
            deep_supervision=True,
        ),
        num_classes=19,
        ignore_value=255,
    ),
    criterion=L(MaskClassificationCriterion)(
        num_classes="${..sem_seg_head.num_classes}",
        matcher=L(HungarianMatcher)(
            cost_class=2.0, cost_mask=5.0, cost_dice=5.0, num_points="${..num_points}"
        ),
        class_weight=2.0,
        mask_weight=5.0,
        dice_weight=5.0,
        no_object_weight=0.1,
        num_points=12544,
        oversample_ratio=3.0,
        importance_sample_ratio=0.75,
        deep_supervision=True,
        hardness_eps=0.1,
        hardness_loss_weight=0.01,
    ),
    pixel_mean=[123.675, 116.28, 103.53],
    pixel_std=[58.395, 57.12, 57.375],
    size_divisibility=32,
    hardness_branch=None,
    sem_seg_postprocess_before_inference=False,
    device="${train.device}",
)
