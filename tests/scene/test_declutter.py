"""Label declutter: from any camera no two shown labels overlap on screen; the nearest wins; labels off
screen or too small to read are not shown."""
from __future__ import annotations

import numpy as np

from engine.scene.camera import Camera
from engine.scene.declutter import LabelBoxes, visible_labels

SIZE = (640, 360)


def boxes(anchors, width=1.0, height=0.25, min_px=0.0, max_px=0.0):
    a = np.asarray(anchors, float)
    n = len(a)
    return LabelBoxes(a, np.full(n, width), np.full(n, height), np.full(n, height), np.full(n, min_px),
                      np.full(n, max_px))


def screen_rects(b, cam, size=SIZE):
    w, h = size
    vp = cam.view_projection(w / h)
    out = []
    for i in range(len(b)):
        c = vp @ np.r_[b.anchor[i], 1.0]
        x0, y1 = (c[0] / c[3] * 0.5 + 0.5) * w, (1 - (c[1] / c[3] * 0.5 + 0.5)) * h
        k = cam.focal_px(h) / ((b.anchor[i] - cam.position) @ cam.forward)
        out.append((x0, y1 - b.height[i] * k, x0 + b.width[i] * k, y1))
    return out


def test_overlapping_labels_keep_the_nearest():
    cam = Camera(position=np.array([0.0, 0.0, 10.0]))
    b = boxes([[0, 0, 0], [0.1, 0.05, 0.5], [3, 0, 0]])        # 1 is in front of 0 and overlaps it
    show = visible_labels(b, cam, SIZE)
    assert show.tolist() == [False, True, True]
    b.keep = np.array([True, False, False])                        # a picture laid out by its maker: always shown
    assert visible_labels(b, cam, SIZE).tolist() == [True, False, True]


def test_no_two_shown_labels_overlap_from_any_camera():
    rng = np.random.default_rng(0)
    b = boxes(rng.uniform(-4, 4, (400, 3)), width=1.2, height=0.3)
    for k in range(5):
        cam = Camera(position=rng.uniform(-3, 3, 3) + [0, 0, 12]).look_at(rng.uniform(-1, 1, 3))
        show = visible_labels(b, cam, SIZE)
        assert 0 < show.sum() < len(b)
        rects = [r for r, s in zip(screen_rects(b, cam), show) if s]
        for i in range(len(rects)):
            for j in range(i + 1, len(rects)):
                a, c = rects[i], rects[j]
                overlap = min(a[2], c[2]) - max(a[0], c[0]) > 1 and min(a[3], c[3]) - max(a[1], c[1]) > 1
                assert not overlap


def test_off_screen_behind_and_too_small_are_hidden():
    cam = Camera(position=np.array([0.0, 0.0, 10.0]))
    b = boxes([[0, 0, 20], [100, 0, 0], [0, 0, 0]], min_px=9)
    assert visible_labels(b, cam, SIZE).tolist() == [False, False, True]
    far = Camera(position=np.array([0.0, 0.0, 400.0]))          # 0.25 units at 400: < 1 px
    assert not visible_labels(b, far, SIZE).any()
