# Twin of configs/quick_schedules/deeplabv3plus_R18_hl_instant_test.yaml: 20 iterations with HL.
from ..common.models.hardness import add_hardness
from .deeplabv3plus_R18_instant_test import (  # noqa: F401
    dataloader,
    lr_multiplier,
    model,
    optimizer,
    train,
)

train.output_dir = "./output/quick_schedules/deeplabv3plus_R18_hl_instant_test"
model = add_hardness(model, vis_period=10)
