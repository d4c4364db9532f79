"""Scene building on hand-made LayerGraphs: slabs, edges, labels, picking texels, level of detail
(plain data, no torch, no GL)."""
import numpy as np
import pytest

from engine.scene.build import build_scene
from engine.scene.lod import choose_lod
from tests.fixtures import residual_graph


def test_scene_has_slabs_edges_labels_and_skip_arc():
    g = residual_graph()
    sc = build_scene(g)
    assert len(sc.slabs) == 5 and len(sc.labels) == 5
    kinds = {e.kind for e in sc.edges}
    assert {"flow", "skip", "weights"} <= kinds
    skip = next(e for e in sc.edges if e.kind == "skip")
    # the arc rises above the slabs it skips
    assert skip.positions[:, 1].max() > max(s.bbox[1][1] for s in sc.slabs)
    slab = sc.slab(1)
    assert slab.values.shape == (slab.count,)             # tensor order, as the renderer stores it
    np.testing.assert_array_equal(slab.values, g.layers[1].values.reshape(-1))
    assert slab.signed and slab.scale == pytest.approx(1 / np.percentile(np.abs(g.layers[1].values), 99.5))
    lo, hi = sc.bbox
    assert np.all(hi > lo - 1e-9)


def test_texel_picking_matches_tensor_index():
    g = residual_graph()
    sc = build_scene(g)
    s = sc.slab(1)
    p = s.origin + 9.5 * s.u + 3.5 * s.v   # col 9, row 3 -> channel 1, y 3, x 1
    col, row = s.texel_at(p)
    assert (col, row) == (9, 3)
    assert s.index(col, row) == 1 * 64 + 3 * 8 + 1


def test_lod_points_near_slab_far_and_cull_behind():
    g = residual_graph()
    sc = build_scene(g)
    cam = sc.camera
    s = sc.slab(1)
    cam.position = s.center + np.array([0, 0, 0.3])
    cam.look_at(s.center)
    lod = choose_lod(sc, cam, (800, 600))
    assert lod[1] == "points"
    cam.position = s.center + np.array([0, 0, 500.0])
    cam.look_at(s.center)
    assert choose_lod(sc, cam, (800, 600))[1] == "slab"
    cam.look_at(s.center + np.array([0, 0, 1000.0]))   # facing away
    assert choose_lod(sc, cam, (800, 600))[1] == "cull"
