"""Config setup shared by tools/train_net.py and the tests."""

import logging

import torch

from detectron2.config import get_cfg
from detectron2.engine import default_setup
from detectron2.utils import comm
from detectron2.utils.logger import setup_logger

from ..checkpoint import check_resume_config
from ..config import add_hardseg_config
from ..config.safe_yaml import merge_yaml_config

__all__ = ["setup_cfg", "resolve_device"]


def resolve_device(device: str) -> str:
    """``"cuda..."`` on a machine without CUDA becomes ``"cpu"`` (one warning); else unchanged."""
    if device.startswith("cuda") and not torch.cuda.is_available():
        logging.getLogger(__name__).warning(
            f"MODEL.DEVICE={device} but CUDA is unavailable: using cpu."
        )
        return "cpu"
    return device


def setup_cfg(config_file: str = "", opts=(), args=None, freeze: bool = True):
    """get_cfg -> add_hardseg_config -> merge the file -> merge ``KEY VALUE`` overrides ->
    device fallback -> freeze. With ``args`` (from the argument parser) also detectron2's
    ``default_setup`` (logging, output dir, seeding, config dump) and the ``hardseg`` logger.
    Unknown keys raise a KeyError naming the key and where it came from; with ``args.resume``,
    a model change against ``OUTPUT_DIR/config.yaml`` is refused (hardseg/checkpoint/)."""
    cfg = get_cfg()
    add_hardseg_config(cfg)
    if config_file:
        try:
            merge_yaml_config(cfg, config_file)  # safe YAML: python tags are refused
        except KeyError as e:
            raise KeyError(
                f"{config_file}: {e.args[0]}. Check its spelling; HardSeg's keys are "
                "listed in hardseg/config/."
            ) from None
    try:
        cfg.merge_from_list(list(opts))
    except (KeyError, AssertionError) as e:  # yacs asserts "Non-existent key: ..." here
        if isinstance(e, AssertionError) and "Non-existent key" not in str(e):
            raise
        raise KeyError(
            f"command-line override: {e.args[0]}. Check its spelling; HardSeg's keys "
            "are listed in hardseg/config/."
        ) from None
    cfg.MODEL.DEVICE = resolve_device(cfg.MODEL.DEVICE)
    if freeze:
        cfg.freeze()
    if args is not None:
        resume_note = check_resume_config(cfg, args)  # before default_setup rewrites config.yaml
        default_setup(cfg, args)
        setup_logger(cfg.OUTPUT_DIR, distributed_rank=comm.get_rank(), name="hardseg")
        if resume_note:
            logging.getLogger("hardseg").info(resume_note)
    return cfg
