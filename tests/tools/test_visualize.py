import numpy as np

from detectron2.data import MetadataCatalog

from hardseg.utils.visualize import draw_sem_seg, prediction_panel, upscale


def test_prediction_panel_layout_and_colours():
    meta = MetadataCatalog.get("hardshapes_sem_seg_val")
    image = np.full((64, 80, 3), 128, np.uint8)
    gt = np.zeros((64, 80), np.uint8)
    gt[:, 40:] = 255  # ignored: left undrawn
    pred = np.full((64, 80), 4, np.uint8)
    panel = prediction_panel(image, gt, pred, meta)
    assert panel.shape == (64, 240, 3) and panel.dtype == np.uint8
    assert (panel[:, :80] == image).all()
    gt_vis, pred_vis = panel[:, 80:160], panel[:, 160:]
    assert (gt_vis[:, 45:] == 128).all()  # ignore region unchanged

    def dominant(region):
        colours, counts = np.unique(region.reshape(-1, 3), axis=0, return_counts=True)
        return colours[counts.argmax()].astype(float)

    # the overlay blends the class colour over the image with alpha 0.6 (edges and the text
    # label aside, which is why the dominant colour is compared)
    for vis, cls in [(gt_vis[:, :40], 0), (pred_vis, 4)]:
        expected = 0.4 * 128 + 0.6 * np.array(meta.stuff_colors[cls], float)
        assert np.abs(dominant(vis) - expected).max() <= 2, cls
    assert draw_sem_seg(image, pred, meta).shape == image.shape


def test_upscale_is_exact_nearest_neighbour():
    a = np.array([[1, 2], [3, 255]], np.uint8)
    assert upscale(a, 2).tolist() == [
        [1, 1, 2, 2],
        [1, 1, 2, 2],
        [3, 3, 255, 255],
        [3, 3, 255, 255],
    ]
    assert upscale(np.zeros((2, 3, 3)), 3).shape == (6, 9, 3)
