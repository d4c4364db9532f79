"""The overview strip as plain data: layers in data-flow order, bars by kind and size, the marker under
the layer you are at, clicks mapped back to layers."""
import numpy as np

from engine.colormaps.palette import KIND_COLORS, STRIP_HERE
from engine.pipeline import build
from engine.scene.overview import OverviewStrip
from engine.scenefile import resolve_spec

SIZE = (800, 600)


def _strip(model="cnn"):
    _, scene = build(resolve_spec(model))
    return scene, OverviewStrip(scene)


def test_bars_follow_the_data_flow_and_the_layer_sizes():
    scene, strip = _strip()
    assert len(strip) == len(scene.slabs)
    ranks = [s.rank for s in strip.slabs]
    assert ranks == sorted(ranks) and strip.slabs[0].kind == "input"
    counts = np.array([s.count for s in strip.slabs])
    assert (np.diff(strip.heights[np.argsort(counts)]) >= -1e-9).all()      # taller bars: more neurons
    x0, y0, x1, y1 = strip.rect(SIZE)
    assert 0 < x0 < x1 <= SIZE[0] / 2 and 0 < y0 < y1 < SIZE[1]                # bottom left, half the width
    img = strip.image(SIZE, None)
    assert img.shape == (y1 - y0, x1 - x0, 4)
    conv = (np.array(KIND_COLORS["conv"]) * 0.75 * 255).astype(np.uint8)
    assert (np.abs(img[..., :3].astype(int) - conv).sum(axis=2) <= 3).sum() > 20


def test_clicks_map_to_their_bar_and_the_marker_sits_under_it():
    _, strip = _strip()
    x0, y0, x1, y1 = strip.rect(SIZE)
    ym = (y0 + y1) / 2
    hits = [strip.hit(x, ym, SIZE) for x in np.linspace(x0 + 5, x1 - 5, 200)]
    assert hits[0] == 0 and hits[-1] == len(strip) - 1 and all(np.diff(hits) >= 0)
    assert set(hits) == set(range(len(strip)))                                  # every bar can be clicked
    assert strip.hit(x1 + 5, ym, SIZE) is None and strip.hit(x0 + 5, y0 - 5, SIZE) is None
    white = (np.array(STRIP_HERE) * 255).astype(np.uint8)
    for here in (0, len(strip) // 2, len(strip) - 1):
        img = strip.image(SIZE, here)
        cols = np.nonzero((img[-4, :, :3] == white).all(axis=1))[0]
        assert len(cols) and strip.hit(x0 + cols.mean(), ym, SIZE) == here


def test_you_are_at_the_layer_ahead_on_the_line_of_sight():
    scene, strip = _strip("resnet18")
    target = strip.slabs[30]
    n = target.normal                                            # along the data flow
    eye = target.center - n * 1.0                                # (layers stand 2.2 apart here)
    assert strip.nearest(eye, n) == 30                           # looking at it from where the input is
    assert strip.nearest(target.center) == 30                    # standing in it
    assert strip.index_of(target) == 30 and strip.index_of(object()) is None
