# Importing the dataset modules registers their datasets in detectron2's DatasetCatalog.
from . import hardshapes  # noqa: F401  (registers hardshapes*_sem_seg_{train,val})
