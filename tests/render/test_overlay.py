"""Overlays in real pixels (EGL offscreen): highlighted segments and the bottom-right panel."""
from __future__ import annotations

import numpy as np
import pytest

from engine.render.context import OffscreenContext
from engine.render.passes.highlight import HighlightPass, highlight_vertices
from engine.render.passes.panel import MARGIN as PANEL_MARGIN
from engine.render.passes.panel import PanelPass
from engine.render.renderer import Renderer
from engine.scene import Camera, Scene, Slab

W, H = 200, 150
BG = (0.02, 0.02, 0.04)
POSITIVE = np.array([255, 230, 38])      # palette.HIGHLIGHT_POSITIVE at |w| = 1
NEGATIVE = np.array([38, 242, 255])


def project(cam, point):
    clip = cam.view_projection(W / H) @ np.r_[point, 1.0]
    ndc = clip[:3] / clip[3]
    return int((ndc[0] * 0.5 + 0.5) * W), int((1 - (ndc[1] * 0.5 + 0.5)) * H)


def close(c, ref, tol=8):
    return bool(np.all(np.abs(np.asarray(c, int) - ref) <= tol))


@pytest.fixture(scope="module")
def renderer():
    n = 8
    slab = Slab(0, "s", "conv", n, n, n * n, (n, n), np.array([-1.0, -1.0, -2.0]), np.array([2.0 / n, 0, 0]),
                np.array([0, 2.0 / n, 0]), np.full((n, n), 0.5, np.float32), False, 1.0)
    scene = Scene([slab], camera=Camera(position=np.array([0.0, 0.0, 6.0])), background=BG, show_labels=False)
    with OffscreenContext():
        r = Renderer(scene, (W, H), samples=0)
        yield r
        r.release()


def test_highlight_vertices_layout():
    v = highlight_vertices(np.array([[0, 0, 0], [1, 2, 3], [4, 5, 6], [7, 8, 9]], np.float32),
                           np.array([0.5, 0.5, -1.0, -1.0]))
    assert v.shape == (12, 9)
    assert np.all(v[:6, 0:3] == 0) and np.all(v[:6, 3:6] == [1, 2, 3]) and np.all(v[6:, 8] == -1.0)
    assert sorted(map(tuple, v[:6, 6:8])) == sorted([(0, -1), (0, 1), (1, 1), (0, -1), (1, 1), (1, -1)])
    with pytest.raises(ValueError):
        highlight_vertices(np.zeros((4, 3)), np.zeros(2))


def test_highlight_lines_on_top_and_cleared(renderer):
    cam = renderer.scene.camera
    # a positive segment in front of the slab (y = 0.6), a negative one *behind* it (z = -3, y = -0.6):
    # both are drawn on top
    pos = np.array([[-0.8, 0.6, 0.0], [0.8, 0.6, 0.0], [-0.8, -0.6, -3.0], [0.8, -0.6, -3.0]], np.float32)
    renderer.set_highlight(pos, np.array([1.0, 1.0, -1.0, -1.0], np.float32))
    renderer.draw(cam)
    img = renderer.read_pixels()
    a = project(cam, np.array([0.0, 0.6, 0.0]))
    b = project(cam, np.array([0.0, -0.6, -3.0]))
    assert close(img[a[1], a[0]], POSITIVE), img[a[1], a[0]]
    assert close(img[b[1], b[0]], NEGATIVE), img[b[1], b[0]]
    # thick: a few pixels across (the default width at 150 px high is 2 px; use 5)
    renderer.pass_of(HighlightPass).width_px = 5.0
    renderer.draw(cam)
    img = renderer.read_pixels()
    column = img[a[1] - 4:a[1] + 5, a[0]]
    assert sum(close(c, POSITIVE) for c in column) >= 4
    renderer.clear_highlight()
    renderer.pass_of(HighlightPass).width_px = None
    renderer.draw(cam)
    img = renderer.read_pixels()
    assert not close(img[a[1], a[0]], POSITIVE) and not close(img[b[1], b[0]], NEGATIVE)


def test_panel_bottom_right_and_hidden(renderer):
    cam = renderer.scene.camera
    panel = np.zeros((20, 30, 4), np.uint8)
    panel[..., 0], panel[..., 3] = 255, 255
    panel[:10, :, :3] = (0, 255, 0)                 # top half green, bottom half red
    renderer.set_panel(panel)
    renderer.draw(cam)
    img = renderer.read_pixels()
    x1, y1 = W - PANEL_MARGIN, H - PANEL_MARGIN      # read_pixels rows: top first
    assert close(img[y1 - 5, x1 - 15], [255, 0, 0])
    assert close(img[y1 - 15, x1 - 15], [0, 255, 0])
    assert not close(img[y1 - 25, x1 - 15], [0, 255, 0])      # above the panel
    assert not close(img[y1 - 5, x1 - 35], [255, 0, 0])       # left of it
    assert not close(img[y1 + 3, x1 - 15], [255, 0, 0])       # in the margin
    # a panel larger than the frame is scaled down to fit
    renderer.set_panel(np.full((400, 400, 3), 200, np.uint8))
    x0, y0, xa, ya = renderer.pass_of(PanelPass).rect((W, H))
    assert xa - x0 <= 0.45 * W + 1 and ya - y0 <= 0.45 * H + 1
    renderer.set_panel(None)
    renderer.draw(cam)
    img = renderer.read_pixels()
    assert not close(img[y1 - 5, x1 - 15], [255, 0, 0]) and not close(img[y1 - 5, x1 - 15], [200, 200, 200])
