# Twin of configs/hardshapes/enet_bs8_600it.yaml: the common enet model at HardShapes width.
from ..common.hardshapes_600it import dataloader, lr_multiplier, optimizer, train
from ..common.models.enet import model

model.sem_seg_head.num_classes = 7
train.output_dir = "./output/hardshapes/enet_bs8_600it"
