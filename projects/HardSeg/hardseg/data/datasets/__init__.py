# Importing the dataset modules registers their datasets in detectron2's DatasetCatalog.
from . import hardshapes  # noqa: F401  (registers hardshapes*_sem_seg_{train,val})
from . import (
    cityscapes,
)  # noqa: F401  (re-registers cityscapes_fine_sem_seg_* with a missing-data check)
