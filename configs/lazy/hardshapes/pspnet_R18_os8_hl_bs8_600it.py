# Twin of configs/hardshapes/pspnet_R18_os8_hl_bs8_600it.yaml.
from ..common.models.hardness import add_hardness
from .pspnet_R18_os8_bs8_600it import (  # noqa: F401
    dataloader,
    lr_multiplier,
    model,
    optimizer,
    train,
)

train.output_dir = "./output/hardshapes/pspnet_R18_os8_hl_bs8_600it"
model = add_hardness(model, eps=0.1, loss_weight=0.01, vis_period=100)
