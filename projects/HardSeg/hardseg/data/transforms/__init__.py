from .u2pl_augmentation import CenterPadToSize, SplitRandomScale

__all__ = ["CenterPadToSize", "SplitRandomScale"]
