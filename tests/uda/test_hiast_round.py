"""A HIAST round's pieces: the two-view mapper, the EMA teacher with buffers, pseudo-label
generation (N processes = 1), and clear errors on bad input (docs/methods/hiast.md §4-§8)."""

import json
import os

import numpy as np
import pytest
import torch

from detectron2.data import DatasetCatalog
from detectron2.modeling import build_model
from detectron2.utils.events import EventStorage

from hardseg.data.mappers import TwoViewTargetMapper
from hardseg.data.mappers.two_view_mapper import strong_view, weak_view
from hardseg.data.pseudo_labels import label_path, write_label_png, write_stats
from hardseg.engine.pseudo_labels import generate_pseudo_labels, prepare_output_dir
from hardseg.modeling.meta_arch import HIAST
from tests.common import tiny_cfg

from .common import ROUND, SOURCE, register_tiny_target


def _pseudo_dir(tmp_path, size=(128, 128), dataset=None, num_images=16):
    """Hand-made round output for the 16-image target set: every label is class 1 on the top
    half, no label below; image 3 also has class 2 in its left quarter."""
    name = register_tiny_target()
    out = tmp_path / "pseudo"
    os.makedirs(out / "labels")
    files = [d["file_name"] for d in DatasetCatalog.get(name)]
    samples = {str(c): [] for c in range(7)}
    for i, f in enumerate(files):
        label = np.full(size, 255, dtype=np.uint8)
        label[: size[0] // 2] = 1
        if i == 3:
            label[:, : size[1] // 4] = 2
            samples["2"].append([f, int((label == 2).sum())])
        samples["1"].append([f, int((label == 1).sum())])
        write_label_png(label_path(str(out), f), label)
    write_stats(
        str(out),
        {
            "dataset": dataset or name,
            "num_images": num_images,
            "num_classes": 7,
            "class_mean_probs": [0, 0.95, 0.6, 0, 0, 0, 0],
            "samples_with_class": samples,
        },
    )
    return str(out), name, files


def _mapper(pseudo, name, **kw):
    args = dict(pseudo_label_dir=pseudo, dataset_name=name, num_classes=7, num_hard_classes=1)
    args.update(crop_height_range=[64, 128], crop_aspect=1.0, output_size=[64, 64], **kw)
    return TwoViewTargetMapper(**args)


def test_mapper_two_views_with_hpla(tmp_path):
    pseudo, name, files = _pseudo_dir(tmp_path)
    mapper = _mapper(pseudo, name)
    # one hard class: the lowest mean confidence among the classes with a donor (1: 0.95, 2: 0.6)
    np.testing.assert_array_equal(mapper.sampler.hard, [2])
    np.random.seed(0)
    out = mapper({"file_name": files[0]})
    assert out["image"].shape == out["image_strong"].shape == (3, 64, 64)
    assert out["image"].dtype == torch.uint8 and out["sem_seg"].shape == (64, 64)
    assert set(out["sem_seg"].unique().tolist()) <= {1, 2, 255}
    np.random.seed(0)
    again = mapper({"file_name": files[0]})
    assert torch.equal(out["image_strong"], again["image_strong"])  # seeded per sample


def test_views_stay_pixel_aligned():
    rng = np.random.default_rng(0)
    label = torch.from_numpy(rng.integers(0, 7, (32, 48)).astype(np.uint8))
    image = (label * 30).expand(3, 32, 48).contiguous()
    for seed in range(4):  # crop of the full height and width 32: no resize, only flip / shift
        w_img, w_lab = weak_view(image, label, np.random.default_rng(seed), [32, 32], 1.0, [32, 32])
        assert torch.equal(w_img[0], w_lab * 30)
        strong = strong_view(w_img, np.random.default_rng(seed))
        assert strong.shape == w_img.shape and strong.dtype == torch.uint8


def test_bad_pseudo_label_dirs(tmp_path):
    name = register_tiny_target()
    with pytest.raises(FileNotFoundError, match="stats.json.*generate_pseudo_labels"):
        _mapper(str(tmp_path / "missing"), name)
    other, _, _ = _pseudo_dir(tmp_path / "a", dataset="cityscapes_fine_sem_seg_train")
    with pytest.raises(ValueError, match="dataset 'cityscapes_fine_sem_seg_train'"):
        _mapper(other, name)
    fewer, _, _ = _pseudo_dir(tmp_path / "b", num_images=15)
    with pytest.raises(ValueError, match="15 pseudo-labelled images"):
        _mapper(fewer, name)
    small, _, files = _pseudo_dir(tmp_path / "c", size=(32, 32))
    with pytest.raises(ValueError, match=r"labels/00000\.png: pseudo-label of size \(32, 32\)"):
        _mapper(small, name, hpla=False)({"file_name": files[0]})
    busy = tmp_path / "busy"
    os.makedirs(busy)
    (busy / "x.txt").write_text("x")
    with pytest.raises(FileExistsError, match="--overwrite"):
        prepare_output_dir(str(busy), overwrite=False)


def test_student_must_be_per_pixel():
    for name in ("HIAST", "SemanticSegmentor"):
        with pytest.raises(ValueError, match="per-pixel"):
            build_model(tiny_cfg("MODEL.SEMISUP.STUDENT_META_ARCHITECTURE", name, config=ROUND))


def test_ema_teacher_copies_buffers():
    torch.manual_seed(0)
    model = build_model(tiny_cfg(config=ROUND))
    assert isinstance(model, HIAST) and model.ema_buffers and model.ema_decay == 0.999
    gen = torch.Generator().manual_seed(0)
    label = torch.randint(0, 7, (64, 64), generator=gen)
    label[:32] = 255
    batch = [
        {
            "image": torch.randint(0, 255, (3, 64, 64), generator=gen, dtype=torch.uint8),
            "image_strong": torch.randint(0, 255, (3, 64, 64), generator=gen, dtype=torch.uint8),
            "sem_seg": label,
        }
        for _ in range(2)
    ]
    model.train()
    opt = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.1)
    with EventStorage(0):
        losses = model(batch)
    assert set(losses) == {"loss_sem_seg_tgt", "loss_kld_conf", "loss_ent_ign", "loss_cst"}
    teacher0 = [p.clone() for p in model.teacher.parameters()]
    sum(losses.values()).backward()
    opt.step()
    model.update_teacher(0)
    for t, t0, s in zip(model.teacher.parameters(), teacher0, model.student.parameters()):
        torch.testing.assert_close(t, 0.999 * t0 + 0.001 * s)
    for (n, tb), sb in zip(model.teacher.named_buffers(), model.student.buffers()):
        assert torch.equal(tb, sb), n


def test_generate_pseudo_labels_processes_agree(tmp_path):
    cfg = tiny_cfg(config=SOURCE)
    torch.manual_seed(0)
    weights = tmp_path / "model.pth"
    torch.save({"model": build_model(cfg).state_dict()}, weights)
    cfg = tiny_cfg("MODEL.WEIGHTS", str(weights), config=SOURCE)
    stats = {}
    for n in (1, 2):
        stats[n] = generate_pseudo_labels(
            cfg, str(tmp_path / f"p{n}"), dataset_name="hardshapes_shifted_sem_seg_val",
            num_processes=n, seed=3,
        )  # fmt: skip
    assert stats[1] == {**stats[2], "weights": stats[1]["weights"]}
    names = sorted(os.listdir(tmp_path / "p1" / "labels"))
    assert len(names) == 80 and names == sorted(os.listdir(tmp_path / "p2" / "labels"))
    for f in names:
        assert (tmp_path / "p1/labels" / f).read_bytes() == (
            tmp_path / "p2/labels" / f
        ).read_bytes()
    with open(tmp_path / "p1" / "stats.json") as f:
        assert json.load(f)["seed"] == 3


def test_round_resumes_exactly_mid_round(tmp_path):
    """The target stream's position, the teacher and the RNG come back with --resume: a round
    stopped after its checkpoint of iteration 1 ends with the uninterrupted run's weights."""
    from hardseg.checkpoint import load_checkpoint_file
    from hardseg.engine.self_training import train_stage
    from hardseg.model_zoo import get_config_file

    pseudo, name, _ = _pseudo_dir(tmp_path)

    def run(out, resume=False):
        opts = ["OUTPUT_DIR", str(out), "DATASETS.TEST", "()", "DATASETS.TRAIN", f"('{name}',)"]
        opts += ["DATASETS.PSEUDO_LABEL_DIR", pseudo, "SOLVER.MAX_ITER", "4"]
        opts += ["SOLVER.CHECKPOINT_PERIOD", "2", "MODEL.UDA.HIAST.HPLA.NUM_HARD_CLASSES", "1"]
        return load_checkpoint_file(train_stage(get_config_file(ROUND), opts, resume=resume))

    a = run(tmp_path / "a")
    assert a["data"]["stream"] == "target"
    run(tmp_path / "b")
    (tmp_path / "b" / "last_checkpoint").write_text("model_0000001.pth")
    b = run(tmp_path / "b", resume=True)
    for k in a["model"]:
        assert torch.equal(a["model"][k], b["model"][k]), k
