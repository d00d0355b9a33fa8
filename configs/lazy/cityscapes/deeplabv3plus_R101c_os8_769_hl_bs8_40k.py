# Twin of configs/cityscapes/semantic-segmentation/deeplabv3plus_R101c_os8_769_hl_bs8_40k.yaml.
from ..common.models.hardness import add_hardness
from .deeplabv3plus_R101c_os8_769_bs8_40k import (  # noqa: F401
    dataloader,
    lr_multiplier,
    model,
    optimizer,
    train,
)

train.output_dir = "./output/cityscapes/deeplabv3plus_R101c_os8_769_hl_bs8_40k"
model = add_hardness(model, eps=0.1, loss_weight=0.01)
