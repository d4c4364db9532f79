"""Layout and scene graph on hand-made LayerGraphs: plain data, no torch, no GL."""
import numpy as np
import pytest

from engine.layout.mosaic import mosaic_for, to_mosaic
from engine.layout.placement import layout_graph
from engine.model.graph import Edge, Layer, LayerGraph
from engine.scene.build import Look, build_scene
from engine.scene.lod import choose_lod


def residual_graph(values: bool = True) -> LayerGraph:
    rng = np.random.default_rng(0)
    shapes = [(1, 3, 8, 8), (1, 4, 8, 8), (1, 4, 8, 8), (1, 4, 8, 8), (1, 10)]
    kinds = ["input", "conv", "activation", "add", "linear"]
    layers = []
    for i, (s, k) in enumerate(zip(shapes, kinds)):
        v = rng.standard_normal(s[1:]).astype(np.float32) if values else None
        layers.append(Layer(i, f"l{i}", k, k, s, values=v))
    layers[4].top_in = np.tile(np.arange(8, dtype=np.int32), (10, 1))
    layers[4].top_w = rng.standard_normal((10, 8)).astype(np.float32)
    edges = [Edge(0, 1), Edge(1, 2), Edge(2, 3), Edge(1, 3, "skip"), Edge(3, 4)]
    return LayerGraph("toy", layers, edges, [(1, 3, 8, 8)], "image")


@pytest.mark.parametrize("shape", [(5,), (7, 3), (10, 3, 4), (2, 3, 4, 5), (3, 5000), ()])
def test_mosaic_roundtrip(shape):
    a = np.arange(int(np.prod(shape)), dtype=np.float32).reshape(shape)
    m = mosaic_for(shape)
    img = to_mosaic(a, m)
    assert img.shape == (m.rows, m.cols) and m.rows * m.cols >= a.size
    idx = np.arange(a.size)
    col, row = m.texel(idx)
    np.testing.assert_array_equal(img[row, col], a.reshape(-1))
    assert all(m.index(int(c), int(r)) == i for i, c, r in zip(idx[:50], col[:50], row[:50]))


def test_layout_follows_data_flow_and_is_deterministic():
    g = residual_graph()
    a, b = layout_graph(g), layout_graph(g)
    zs = [a.placements[i].origin[2] for i in range(5)]
    assert zs == sorted(zs, reverse=True)          # data flows along -z
    for i in range(5):
        np.testing.assert_array_equal(a.placements[i].origin, b.placements[i].origin)
    # sizes follow the tensor shapes: 4 tiles of 8x8 -> 16x16 texels
    assert (a.placements[1].mosaic.rows, a.placements[1].mosaic.cols) == (16, 16)


def test_hidden_layers_route_edges_through():
    g = residual_graph()
    lay = layout_graph(g, hide=("activation",))
    assert 2 not in lay.placements
    assert (1, 3, "data") in lay.edges or (1, 3, "skip") in lay.edges


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
