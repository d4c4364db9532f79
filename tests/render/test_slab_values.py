"""Slab values the renderer does not simply read one per texel: rows in tiles of their own (padding
inside a tile) and slabs without values yet (structure-only models)."""
from __future__ import annotations

import numpy as np
import pytest

from engine.render.context import OffscreenContext
from engine.render.renderer import Renderer, render_image
from engine.scene import Camera, Scene, Slab
from tests.render.test_renderer import BG, H, W, cmap8, project, px, two_slab_scene


@pytest.fixture(scope="module")
def ctx():
    with OffscreenContext() as c:
        yield c


def test_rows_in_tiles_of_their_own_draw_each_row_from_its_tile_corner(ctx):
    """Rows longer than a tile (per_tile < th * tw): row 0 = low, row 1 = high. The shader maps each
    tile's first per_tile texels to that row and paints the rest of the tile as padding."""
    from engine.layout.mosaic import mosaic_for
    m = mosaic_for((2, 5000))                  # 2 rows of 5000 -> two 71x71 tiles holding 5000 each
    assert m.per_tile == 5000 and m.ntiles == 2
    t = 2.0 / max(m.rows, m.cols)
    vals = np.r_[np.zeros(5000), np.ones(5000)].astype(np.float32)
    s = Slab(layer_id=0, name="rows", kind="linear", rows=m.rows, cols=m.cols, count=m.count, tile=(m.th, m.tw),
             origin=np.array([-1.0, 0.6, 0.0]), u=np.array([t, 0, 0]), v=np.array([0, -t, 0]), values=vals,
             per_tile=m.per_tile)
    assert s.mosaic == m
    sc = Scene([s], camera=Camera(position=np.array([0.0, 0.0, 2.0])), background=BG)
    img = render_image(sc, size=(640, 480), samples=0).astype(int)

    def at(index=None, col=None, row=None):
        if index is not None:
            col, row = m.texel(index)
        return px(img, project(sc.camera, s.origin + (col + 0.5) * s.u + (row + 0.5) * s.v, (640, 480)), r=0)
    def high(c):      # viridis(1) is yellow: red and green well above blue; viridis(0) purple: blue above green
        return c[0] > 2 * c[2] and c[1] > 2 * c[2]

    def low(c):
        return c[2] > c[1] + 20 and c.sum() > 60
    for i in (300, 2500, 4600):
        assert low(at(i)) and high(at(5000 + i)), i
    pad = at(col=m.tw - 2, row=m.th - 1)      # the first tile's end, past its 5000 neurons: padding
    assert not low(pad) and not high(pad) and pad.sum() < 80


def test_slabs_without_values_are_drawn_flat_until_values_arrive(ctx):
    """A structure-only slab (values None) holds one texel of GL memory and no pyramid, draws the
    colormap's zero; its first values are drawn from then on."""
    sc = two_slab_scene()
    sc.slabs[0].values = None
    with Renderer(sc, (W, H), samples=0) as r:
        vals = r.slab_data.values
        assert vals.blank[0] and not vals.far[0] and vals.own_bytes[0] == 4
        left = project(sc.camera, sc.slabs[0].center)
        r.draw(sc.camera)
        assert np.abs(px(r.read_pixels(), left) - cmap8("viridis", 0.0)).max() < 14
        r.update_values(0, np.ones((16, 16), np.float32))
        r.draw(sc.camera)
        assert np.abs(px(r.read_pixels(), left) - cmap8("viridis", 1.0)).max() < 14
        assert not vals.blank[0] and vals.far[0]
