"""HardSeg's sem_seg evaluator: hand-computed metrics for both mIoU conventions, the metadata
``eval_classes`` contract, equality with cityscapesscripts' evalPixelLevelSemanticLabeling and
with detectron2's SemSegEvaluator, and the gather across two processes."""

import json
import math

import numpy as np
import pytest
import torch
from PIL import Image

from detectron2.data import DatasetCatalog, MetadataCatalog
from detectron2.evaluation import SemSegEvaluator

from hardseg.evaluation import (
    HardSegSemSegEvaluator,
    build_sem_seg_evaluator,
    confusion_matrix,
    sem_seg_metrics,
)
from tests.common import write_label_png

# [gt, pred]: GT has classes 0 and 1; class 2 is predicted once but absent from the GT.
CONF = np.array([[3, 1, 0], [0, 2, 1], [0, 0, 0]])
GT = np.array([[0, 0, 0, 0, 1, 1, 1, 255]])
PRED = np.array([[0, 0, 0, 1, 1, 1, 2, 0]])


def _one_hot(pred, k):
    return torch.nn.functional.one_hot(torch.as_tensor(pred), k).permute(2, 0, 1).float()


def test_confusion_matrix_drops_ignore():
    # 8-bit GT (one bincount over 256 rows) and any other integer GT (masked) agree
    for gt in (torch.as_tensor(GT, dtype=torch.uint8), torch.as_tensor(GT, dtype=torch.int64)):
        conf = confusion_matrix(torch.as_tensor(PRED), gt, 3, 255)
        np.testing.assert_array_equal(conf.numpy(), CONF)
        assert conf.dtype == torch.int64
        bad = gt.clone()
        bad[0, 0] = 7
        with pytest.raises(ValueError, match=r"values \[7\] outside \[0, 3\)"):
            confusion_matrix(torch.as_tensor(PRED), bad, 3, 255)


def test_metrics_by_hand_for_both_conventions_and_eval_classes():
    names = ["a", "b", "c"]
    iou = [3 / 4, 2 / 4, 0.0]  # IoU_i = n_ii / (t_i + s_i - n_ii)
    r = sem_seg_metrics(CONF, names)
    assert r["mIoU"] == pytest.approx(100 * sum(iou) / 3)  # predicted-but-absent counts 0
    assert r["IoU-c"] == 0.0
    assert r["pACC"] == pytest.approx(100 * 5 / 7)
    assert r["mACC"] == pytest.approx(100 * (3 / 4 + 2 / 3) / 2)
    assert r["ACC-b"] == pytest.approx(100 * 2 / 3) and math.isnan(r["ACC-c"])
    assert r["fwIoU"] == pytest.approx(100 * (4 / 7 * 3 / 4 + 3 / 7 * 2 / 4))
    g = sem_seg_metrics(CONF, names, convention="gt_present")
    assert g["mIoU"] == pytest.approx(100 * (3 / 4 + 2 / 4) / 2) and math.isnan(g["IoU-c"])
    assert g["fwIoU"] == r["fwIoU"] and g["pACC"] == r["pACC"]
    e = sem_seg_metrics(CONF, names, eval_classes=[1, 2])
    assert e["mIoU"] == pytest.approx(100 * (2 / 4 + 0) / 2)
    assert e["mACC"] == pytest.approx(100 * 2 / 3)
    assert e["pACC"] == r["pACC"]  # pixel-level metrics use every class
    # a class absent from GT and prediction is excluded everywhere
    conf4 = np.zeros((4, 4), int)
    conf4[:3, :3] = CONF
    r4 = sem_seg_metrics(conf4, names + ["d"])
    assert r4["mIoU"] == pytest.approx(r["mIoU"]) and math.isnan(r4["IoU-d"])
    with pytest.raises(ValueError, match="MIOU_CONVENTION='main'"):
        sem_seg_metrics(CONF, names, convention="main")


def _register(name, tmp_path, gts, **meta):
    dicts = []
    for i, gt in enumerate(gts):
        path = tmp_path / f"{name}_{i}.png"
        write_label_png(path, gt)
        dicts.append({"file_name": f"{name}_{i}.jpg", "sem_seg_file_name": str(path)})
    if name in DatasetCatalog.list():
        DatasetCatalog.remove(name)
        MetadataCatalog.remove(name)
    DatasetCatalog.register(name, lambda: dicts)
    MetadataCatalog.get(name).set(ignore_label=255, evaluator_type="sem_seg", **meta)
    return dicts


def test_evaluator_honours_metadata_eval_classes_and_convention(tmp_path):
    names = ["a", "b", "c"]
    _register("test_hs_eval_sub", tmp_path, [GT], stuff_classes=names, eval_classes=[1, 2])
    ev = build_sem_seg_evaluator("test_hs_eval_sub")
    assert isinstance(ev, HardSegSemSegEvaluator)
    ev.reset()
    logits = _one_hot(PRED[0:1], 3)
    ev.process([{"file_name": "test_hs_eval_sub_0.jpg"}], [{"sem_seg": logits}])
    assert ev._conf.device == logits.device
    res = ev.evaluate()["sem_seg"]
    assert res["mIoU"] == pytest.approx(100 * (2 / 4 + 0) / 2)
    _register("test_hs_eval_all", tmp_path, [GT], stuff_classes=names)
    ev = build_sem_seg_evaluator("test_hs_eval_all", miou_convention="gt_present")
    ev.reset()
    ev.process([{"file_name": "test_hs_eval_all_0.jpg"}], [{"sem_seg": logits}])
    assert ev.evaluate()["sem_seg"]["mIoU"] == pytest.approx(100 * (3 / 4 + 2 / 4) / 2)
    _register("test_hs_eval_bad", tmp_path, [GT], stuff_classes=names, eval_classes=[3])
    with pytest.raises(ValueError, match=r"eval_classes=\[3\]"):
        build_sem_seg_evaluator("test_hs_eval_bad")
    _register("test_hs_eval_badgt", tmp_path, [[[0, 5]]], stuff_classes=names)
    ev = build_sem_seg_evaluator("test_hs_eval_badgt")
    ev.reset()
    with pytest.raises(ValueError, match=r"values \[5\] outside \[0, 3\)"):
        ev.process(
            [{"file_name": "test_hs_eval_badgt_0.jpg"}], [{"sem_seg": _one_hot([[0, 1]], 3)}]
        )


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_confusion_matrix_stays_on_the_prediction_device(tmp_path):
    _register("test_hs_eval_cuda", tmp_path, [GT], stuff_classes=["a", "b", "c"])
    ev = build_sem_seg_evaluator("test_hs_eval_cuda")
    ev.reset()
    ev.process([{"file_name": "test_hs_eval_cuda_0.jpg"}], [{"sem_seg": _one_hot(PRED, 3).cuda()}])
    assert ev._conf.is_cuda
    np.testing.assert_array_equal(ev.confusion(), CONF)


def _fake_cityscapes(tmp_path, seed=0):
    """Three 24x40 images in the Cityscapes layout with random labelIds (void ids included;
    'train' and 'motorcycle' absent from the GT, 'bicycle' absent everywhere) and random trainId
    predictions that do predict 'train' and 'motorcycle'."""
    from cityscapesscripts.helpers.labels import id2label

    rng = np.random.default_rng(seed)
    absent_gt = {16, 17, 18}  # trainIds of train, motorcycle, bicycle
    ids = [i for i in range(34) if id2label[i].trainId not in absent_gt]
    to_train = np.full(256, 255, np.uint8)
    for i in range(34):
        t = id2label[i].trainId
        to_train[i] = 255 if t in (255, -1) else t
    gt_dir, pred_dir = tmp_path / "gtFine", tmp_path / "pred"
    pred_dir.mkdir()
    items = []
    for n, city in enumerate(["aachen", "bonn", "bonn"]):
        stem = f"{city}_{n:06d}_000019"
        (gt_dir / city).mkdir(parents=True, exist_ok=True)
        # blocky random labels, as in real maps (4x4 blocks), plus per-pixel noise in one row
        gt = rng.choice(ids, size=(6, 10)).repeat(4, 0).repeat(4, 1).astype(np.uint8)
        gt[0] = rng.choice(ids, size=40)
        pred = rng.integers(0, 18, size=gt.shape)  # bicycle (18) never predicted
        agree = rng.random(gt.shape) < 0.5
        pred = np.where(agree & (to_train[gt] != 255), to_train[gt], pred)
        write_label_png(gt_dir / city / f"{stem}_gtFine_labelIds.png", gt)
        write_label_png(gt_dir / city / f"{stem}_gtFine_labelTrainIds.png", to_train[gt])
        Image.fromarray(gt.astype(np.uint16)).save(gt_dir / city / f"{stem}_gtFine_instanceIds.png")
        from cityscapesscripts.helpers.labels import trainId2label

        label_ids = np.vectorize(lambda t: trainId2label[t].id)(pred)
        write_label_png(pred_dir / f"{stem}_pred.png", label_ids)
        items.append((stem, gt_dir / city / f"{stem}_gtFine_labelTrainIds.png", pred))
    return gt_dir, pred_dir, items


def _cityscapesscripts_results(gt_dir, pred_dir):
    import cityscapesscripts.evaluation.evalPixelLevelSemanticLabeling as cs_eval

    args = cs_eval.args
    args.predictionPath = str(pred_dir)
    args.predictionWalk = None
    args.JSONOutput = False
    args.colorized = False
    args.quiet = True
    gts = sorted(str(p) for p in gt_dir.glob("*/*_gtFine_labelIds.png"))
    preds = [cs_eval.getPrediction(args, g) for g in gts]
    return cs_eval.evaluateImgLists(preds, gts, args)


def test_equal_to_cityscapesscripts_on_pngs(tmp_path):
    gt_dir, pred_dir, items = _fake_cityscapes(tmp_path)
    cs = _cityscapesscripts_results(gt_dir, pred_dir)
    classes = MetadataCatalog.get("cityscapes_fine_sem_seg_val").stuff_classes
    dicts = [
        {"file_name": f"{s}_leftImg8bit.png", "sem_seg_file_name": str(p)} for s, p, _ in items
    ]
    name = "test_hs_fake_cs"
    if name in DatasetCatalog.list():
        DatasetCatalog.remove(name)
        MetadataCatalog.remove(name)
    DatasetCatalog.register(name, lambda: dicts)
    MetadataCatalog.get(name).set(stuff_classes=classes, ignore_label=255, evaluator_type="sem_seg")
    ev = build_sem_seg_evaluator(name)
    d2 = SemSegEvaluator(name, distributed=False)
    for e in (ev, d2):
        e.reset()
        for d, (_, _, pred) in zip(dicts, items):
            e.process([d], [{"sem_seg": _one_hot(pred, 19)}])
    ours = ev.evaluate()["sem_seg"]
    assert ours["mIoU"] == pytest.approx(100 * cs["averageScoreClasses"], abs=1e-9)
    checked_zero = 0
    for c in classes:
        ref = cs["classScores"][c]
        if isinstance(ref, float) and math.isnan(ref):
            assert math.isnan(ours[f"IoU-{c}"]), c
        else:
            assert ours[f"IoU-{c}"] == pytest.approx(100 * ref, abs=1e-9), c
            checked_zero += ref == 0
    assert checked_zero == 2  # train and motorcycle: predicted, absent from the GT -> 0
    assert math.isnan(ours["IoU-bicycle"])
    # detectron2 v0.6 SemSegEvaluator: same summary numbers (same convention)
    theirs = d2.evaluate()["sem_seg"]
    for key in ("mIoU", "fwIoU", "mACC", "pACC"):
        assert ours[key] == pytest.approx(theirs[key], abs=1e-9), key


def _distributed_worker(tmp, dicts_json, preds_npy, out_json):
    import hardseg  # noqa: F401
    from detectron2.utils import comm

    dicts = json.loads(open(dicts_json).read())
    preds = np.load(preds_npy)
    DatasetCatalog.register("test_hs_dist", lambda: dicts)
    MetadataCatalog.get("test_hs_dist").set(
        stuff_classes=[str(i) for i in range(5)], ignore_label=255, evaluator_type="sem_seg"
    )
    ev = build_sem_seg_evaluator("test_hs_dist", output_dir=tmp, write_predictions=True)
    ev.reset()
    rank, world = comm.get_rank(), comm.get_world_size()
    for i in range(rank, len(dicts), world):
        ev.process([dicts[i]], [{"sem_seg": _one_hot(preds[i], 5)}])
    res = ev.evaluate()
    if comm.is_main_process():
        with open(out_json, "w") as f:
            json.dump(res["sem_seg"], f)


def test_two_processes_gather_the_matrix(tmp_path):
    from hardseg.engine.launch import launch

    rng = np.random.default_rng(3)
    gts = [rng.integers(0, 5, (8, 8)) for _ in range(5)]
    gts[0][:2] = 255
    preds = np.stack([rng.integers(0, 5, (8, 8)) for _ in range(5)])
    dicts = _register("test_hs_dist_ref", tmp_path, gts, stuff_classes=[str(i) for i in range(5)])
    (tmp_path / "dicts.json").write_text(json.dumps(dicts))
    np.save(tmp_path / "preds.npy", preds)
    out = tmp_path / "dist.json"
    launch(
        _distributed_worker,
        2,
        dist_url="auto",
        args=(str(tmp_path), str(tmp_path / "dicts.json"), str(tmp_path / "preds.npy"), str(out)),
    )
    dist_res = json.loads(out.read_text())
    single = build_sem_seg_evaluator("test_hs_dist_ref")
    single.reset()
    for d, p in zip(dicts, preds):
        single.process([d], [{"sem_seg": _one_hot(p, 5)}])
    ref = single.evaluate()["sem_seg"]
    for k, v in ref.items():
        assert dist_res[k] == pytest.approx(v, abs=1e-12), k
    files = {
        p["file_name"] for p in json.loads((tmp_path / "sem_seg_predictions.json").read_text())
    }
    assert files == {d["file_name"] for d in dicts}


def test_predictions_json_only_when_asked(tmp_path):
    from tests.common import tiny_cfg

    assert tiny_cfg().TEST.SAVE_PREDICTIONS_JSON is False
    gts = [np.zeros((8, 8), np.int64)]
    dicts = _register("test_hs_json", tmp_path, gts, stuff_classes=["a", "b"])
    for ask, out in ((False, tmp_path / "off"), (True, tmp_path / "on")):
        ev = build_sem_seg_evaluator("test_hs_json", output_dir=str(out), write_predictions=ask)
        ev.reset()
        ev.process([dicts[0]], [{"sem_seg": _one_hot(np.zeros((8, 8), np.int64), 2)}])
        assert ev.evaluate()["sem_seg"]["mIoU"] == 100.0
        assert (out / "sem_seg_predictions.json").exists() == ask
