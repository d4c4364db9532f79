"""Layout and scene graph on hand-made LayerGraphs: plain data, no torch, no GL."""
import numpy as np
import pytest

from engine.layout.mosaic import mosaic_for, to_mosaic
from engine.layout.placement import layout_graph
from tests.fixtures import residual_graph


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


