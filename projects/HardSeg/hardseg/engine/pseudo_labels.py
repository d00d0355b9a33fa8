"""One IAS labelling pass over a target training set (docs/methods/hiast.md §4), the work of
tools/generate_pseudo_labels.py.

Two phases, so that N processes give the result of one:

1. per image, in any process: the model's softmax at the image size -> (confidence, class),
   saved under ``<out>/.predictions/`` (each image on its own, so the values do not depend on
   which process or batch computed them);
2. in the main process, in an order drawn from ``seed``: the IAS threshold update batch by batch,
   the labels written atomically to ``<out>/labels/`` and the round statistics to
   ``<out>/stats.json``.
"""

import logging
import multiprocessing
import os
import shutil
import time
from typing import List, Sequence

import numpy as np
import torch

from detectron2.config import CfgNode
from detectron2.data import get_detection_dataset_dicts

from ..checkpoint import load_model_weights
from ..data.mappers import SemanticDatasetMapper
from ..data.pseudo_labels import LABEL_DIR, STATS_FILE, label_path, write_label_png, write_stats
from ..modeling.uda import IASThresholds

__all__ = ["generate_pseudo_labels", "prepare_output_dir"]

logger = logging.getLogger(__name__)
PREDICTIONS = ".predictions"


def prepare_output_dir(out_dir: str, overwrite: bool) -> None:
    """Create ``out_dir``; refuse a non-empty one unless ``overwrite`` (then only this tool's
    entries are removed)."""
    if os.path.isdir(out_dir) and os.listdir(out_dir):
        if not overwrite:
            raise FileExistsError(
                f"{out_dir} is not empty ({sorted(os.listdir(out_dir))[:3]} ...); pass "
                "--overwrite to replace its pseudo-labels, or choose another --output-dir."
            )
        for name in (LABEL_DIR, PREDICTIONS):
            shutil.rmtree(os.path.join(out_dir, name), ignore_errors=True)
        if os.path.exists(os.path.join(out_dir, STATS_FILE)):
            os.remove(os.path.join(out_dir, STATS_FILE))
    os.makedirs(os.path.join(out_dir, LABEL_DIR), exist_ok=True)
    os.makedirs(os.path.join(out_dir, PREDICTIONS), exist_ok=True)


def labelling_cfg(cfg):
    """The config of the per-pixel model that labels: ``cfg`` itself, or for a HIAST round
    config its ``MODEL.SEMISUP.STUDENT_META_ARCHITECTURE`` (G_r is saved as a plain model)."""
    if cfg.MODEL.META_ARCHITECTURE != "HIAST":
        return cfg
    cfg = cfg.clone()
    cfg.defrost()
    cfg.MODEL.META_ARCHITECTURE = cfg.MODEL.SEMISUP.STUDENT_META_ARCHITECTURE
    cfg.freeze()
    return cfg


def _build_model(cfg):
    from .trainer import Trainer

    model = Trainer.build_model(cfg)
    load_model_weights(model, cfg.MODEL.WEIGHTS)
    return model.eval()


@torch.no_grad()
def _predict(cfg_yaml: str, dataset_name: str, indices: Sequence[int], out_dir: str) -> None:
    """Phase 1 for ``indices`` of the dataset: ``<out>/.predictions/<i>.npz`` (conf float32,
    pred uint8), each written atomically."""
    torch.set_num_threads(1)
    cfg = CfgNode.load_cfg(cfg_yaml)
    model = _build_model(cfg)
    mapper = SemanticDatasetMapper(cfg, is_train=False)
    dicts = get_detection_dataset_dicts([dataset_name], filter_empty=False)
    for i in indices:
        d = dict(dicts[i])
        d.pop("sem_seg_file_name", None)  # a target set's labels are never read
        x = mapper(d)
        logits = model([x])[0]["sem_seg"]
        conf, pred = logits.float().softmax(dim=0).max(dim=0)
        path = os.path.join(out_dir, PREDICTIONS, f"{i}.npz")
        tmp = path + ".tmp.npz"
        np.savez(tmp, conf=conf.numpy(), pred=pred.numpy().astype(np.uint8))
        os.replace(tmp, path)


def generate_pseudo_labels(
    cfg,
    out_dir: str,
    *,
    dataset_name: str = "",
    seed: int = 0,
    num_processes: int = 1,
    overwrite: bool = False,
) -> dict:
    """Label ``dataset_name`` (default ``DATASETS.TRAIN[0]``) with the model of ``cfg`` and
    ``MODEL.WEIGHTS``; IAS settings from ``MODEL.UDA.HIAST.IAS``. Returns the statistics."""
    dataset_name = dataset_name or cfg.DATASETS.TRAIN[0]
    dicts = get_detection_dataset_dicts([dataset_name], filter_empty=False)
    cfg = labelling_cfg(cfg)
    _build_model(cfg)  # the weights must fit before anything is written
    prepare_output_dir(out_dir, overwrite)
    cfg_yaml = cfg.dump()
    n = len(dicts)
    start = time.perf_counter()
    shards: List[List[int]] = [list(range(r, n, num_processes)) for r in range(num_processes)]
    if num_processes == 1:
        _predict(cfg_yaml, dataset_name, shards[0], out_dir)
    else:
        ctx = multiprocessing.get_context("spawn")
        procs = [
            ctx.Process(target=_predict, args=(cfg_yaml, dataset_name, s, out_dir)) for s in shards
        ]
        for p in procs:
            p.start()
        for p in procs:
            p.join()
        failed = [p.exitcode for p in procs if p.exitcode != 0]
        if failed:
            raise RuntimeError(f"pseudo-label prediction: a process failed (exit codes {failed})")
    logger.info(f"Predicted {n} images of {dataset_name} in {time.perf_counter() - start:.1f} s")

    p = cfg.MODEL.UDA.HIAST.IAS
    ias = IASThresholds(
        cfg.MODEL.SEM_SEG_HEAD.NUM_CLASSES,
        init_threshold=p.INIT_THRESHOLD,
        alpha=p.ALPHA,
        beta=p.BETA,
        gamma=p.GAMMA,
        clip=p.CLIP,
        mean_momentum=p.MEAN_MOMENTUM,
    )
    order = [int(i) for i in np.random.default_rng(seed).permutation(n)]
    batch = p.BATCH_SIZE
    for b in range(0, n, batch):
        idx = order[b : b + batch]
        preds = [np.load(os.path.join(out_dir, PREDICTIONS, f"{i}.npz")) for i in idx]
        names = [dicts[i]["file_name"] for i in idx]
        labels = ias.label([q["conf"] for q in preds], [q["pred"] for q in preds], names=names)
        for label, name in zip(labels, names):
            write_label_png(label_path(out_dir, name), label)
        done = min(b + batch, n)
        if done == n or (b // batch) % max(1, n // batch // 10) == 0:
            logger.info(f"IAS labels: {done}/{n} images")
    shutil.rmtree(os.path.join(out_dir, PREDICTIONS))
    stats = {
        "dataset": dataset_name,
        "num_images": n,
        "num_classes": ias.num_classes,
        "seed": seed,
        "weights": cfg.MODEL.WEIGHTS,
        "ias": {k.lower(): v for k, v in p.items()},
        "order": [dicts[i]["file_name"] for i in order],
        "class_threshold": ias.theta.tolist(),
        "pixel_counts": ias.pixel_counts.tolist(),
        "class_mean_probs": ias.class_mean_probs.tolist(),
        "samples_with_class": {
            str(c): [list(s) for s in v] for c, v in ias.samples_with_class.items()
        },
    }
    write_stats(out_dir, stats)
    return stats
