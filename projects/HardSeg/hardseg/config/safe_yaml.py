"""Loading YAML configs without running code.

detectron2's ``CfgNode.merge_from_file`` retries a file that ``yaml.safe_load`` refuses with
``yaml.unsafe_load`` (``allow_unsafe=True`` by default), and ``LazyConfig.load`` reads ``.yaml``
files with ``yaml.unsafe_load``: a ``!!python/object/apply:...`` tag in a config (or in one of its
``_BASE_`` files) then calls arbitrary Python. HardSeg's configs are plain data, so both loaders
here accept only what ``yaml.safe_load`` accepts and refuse any other tag with an error naming the
file, the line and the tag. (LazyConfig ``.py`` files are Python programs and run by design.)
"""

import yaml
from omegaconf import OmegaConf

from detectron2.utils.file_io import PathManager

__all__ = ["UnsafeConfigError", "merge_yaml_config", "load_lazy_yaml"]


class UnsafeConfigError(ValueError):
    """A YAML config holds a tag that only an unsafe loader would construct."""


def _refusal(err: yaml.constructor.ConstructorError, config_file: str) -> UnsafeConfigError:
    mark = err.problem_mark
    where = f"{mark.name}, line {mark.line + 1}" if mark is not None else config_file
    tag = err.problem or str(err)
    return UnsafeConfigError(
        f"{where}: refusing to load a YAML config that uses a Python tag ({tag.strip()}). "
        "HardSeg reads configs with yaml.safe_load, which never runs code: write plain values "
        "(strings, numbers, lists, mappings) instead of the tag. If the file came from "
        "someone else, inspect it before use."
    )


def merge_yaml_config(cfg, config_file: str) -> None:
    """``cfg.merge_from_file(config_file)`` with safe YAML for the file and its ``_BASE_`` files.

    Raises:
        UnsafeConfigError: a file uses a tag that ``yaml.safe_load`` does not construct (e.g.
            ``!!python/object/apply``); the message names that file and the tag.
    """
    try:
        cfg.merge_from_file(config_file, allow_unsafe=False)
    except yaml.constructor.ConstructorError as e:
        raise _refusal(e, config_file) from None


def load_lazy_yaml(config_file: str):
    """A LazyConfig ``.yaml`` file as an OmegaConf ``DictConfig``, as ``LazyConfig.load`` returns
    it, but read with ``yaml.safe_load``. Raises UnsafeConfigError as :func:`merge_yaml_config`."""
    with PathManager.open(config_file) as f:
        try:
            obj = yaml.safe_load(f)
        except yaml.constructor.ConstructorError as e:
            raise _refusal(e, config_file) from None
    return OmegaConf.create(obj, flags={"allow_objects": True})
