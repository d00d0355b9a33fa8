"""Keys of checkpoint loading (see hardseg/checkpoint/)."""


def add_checkpoint_config(cfg):
    """Add ``TEST.ALLOW_PARTIAL_WEIGHTS`` and ``SOLVER.RESUME_ALLOW_MODEL_CHANGE``."""
    # --eval-only and tools/visualize_*.py refuse weights that leave model keys missing or give
    # them other shapes (and an empty MODEL.WEIGHTS): the randomly initialised rest would give
    # meaningless results. Keys the model lacks (e.g. the HL branch of an HL checkpoint in the
    # plain model) are only logged. True: load what fits, with a warning (LazyConfig:
    # train.allow_partial_weights).
    cfg.TEST.ALLOW_PARTIAL_WEIGHTS = False
    # --resume refuses a config whose MODEL.* keys (except WEIGHTS and DEVICE) or SOLVER.OPTIMIZER
    # differ from OUTPUT_DIR/config.yaml. True: resume anyway (only for changes that keep every
    # parameter shape and the optimizer type).
    cfg.SOLVER.RESUME_ALLOW_MODEL_CHANGE = False
