"""Dataset registrations. Importing this package registers every dataset in detectron2's
``DatasetCatalog``/``MetadataCatalog`` without touching the disk (see ``common.py`` for the
conventions and ``datasets/README.md`` for the expected trees and the prepare commands)."""

from . import hardshapes  # noqa: F401  (hardshapes*_sem_seg_{train,val})
from . import cityscapes  # noqa: F401  (cityscapes_fine_sem_seg_*, cityscapes_sem_seg_train_1-N_*)
from . import voc  # noqa: F401  (voc_2012_sem_seg_*)
from . import camvid  # noqa: F401  (camvid_sem_seg_*)
from . import ade20k  # noqa: F401  (ade20k_sem_seg_{train,val})
from . import coco_stuff  # noqa: F401  (coco_stuff_164k_sem_seg_*, coco_2017_*_stuff_10k_sem_seg)
from . import pascal_context  # noqa: F401  (pascal_context_{59,60}_sem_seg_*)
from . import gta5  # noqa: F401  (gta5_sem_seg_train)
from . import synthia  # noqa: F401  (synthia_sem_seg_train, cityscapes_sem_seg_val_synthia*)
from . import robotcar  # noqa: F401  (robotcar_sem_seg_*, cityscapes_sem_seg_*_robot9)
from . import hardshapes_semisup  # noqa: F401  (hardshapes_sem_seg_train_1-{16,8}_*)
