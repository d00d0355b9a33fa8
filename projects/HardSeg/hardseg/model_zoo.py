"""Paths of the configs shipped with HardSeg, independent of the working directory."""

from pathlib import Path

CONFIG_ROOT = Path(__file__).resolve().parents[3] / "configs"


def get_config_file(relpath: str) -> str:
    """``get_config_file("hardshapes/deeplabv3plus_R18_os8_bs8_600.yaml")`` -> absolute path.
    Raises FileNotFoundError naming the path when it is not there."""
    path = CONFIG_ROOT / relpath
    if not path.is_file():
        raise FileNotFoundError(
            f"{path}: no such HardSeg config (configs live under {CONFIG_ROOT})."
        )
    return str(path)
