# Twin of configs/cityscapes/semantic-segmentation/stdc2_512x1024_bs16_80k.yaml: the STDC1 recipe
# with the STDC2 backbone.
from ..common.models.stdc import stdc
from .stdc1_512x1024_bs16_80k import dataloader, lr_multiplier, optimizer, train  # noqa: F401

model = stdc("stdc2", num_classes=19)
train.output_dir = "./output/cityscapes/stdc2_512x1024_bs16_80k"
