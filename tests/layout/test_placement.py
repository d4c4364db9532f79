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




def test_model_view_puts_every_attention_map_on_a_floor_grid():
    """[layout] model_view: each attention map lies flat below the network, facing up, as one row of
    its heads at its layer's depth: a layers x heads grid."""
    import copy

    import pytest
    import torch
    tf = pytest.importorskip("transformers")
    from engine.model.inputs import ExampleInputs
    from engine.model.recorder import record
    cfg = tf.GPT2Config(n_layer=3, n_embd=32, n_head=4, vocab_size=300, n_positions=32, use_cache=False)
    torch.manual_seed(0)
    model = tf.AutoModelForCausalLM.from_config(copy.deepcopy(cfg)).eval()
    g = record(model, ExampleInputs((), {"input_ids": torch.arange(10, 22)[None]}, "language"), name="lm")
    normal = layout_graph(g)
    grid = layout_graph(g, model_view=True)
    maps = [l.id for l in g.layers if l.op == "attention_probs"]
    assert len(maps) == 3
    others = [p for i, p in grid.placements.items() if i not in maps]
    floor = min(p.origin[1] - p.height for p in others)
    zs = []
    for i in maps:
        p, q = grid.placements[i], normal.placements[i]
        assert (p.mosaic.tiles_r, p.mosaic.tiles_c, p.mosaic.th, p.mosaic.tw) == (1, 4, 12, 12)
        assert p.origin[1] < floor                                   # below the whole network
        assert np.allclose(np.cross(p.u, p.v) / np.linalg.norm(np.cross(p.u, p.v)), [0, 1, 0])   # facing up
        assert p.origin[2] == q.origin[2]                            # under its own layer
        zs.append(p.origin[2])
        corners = [p.origin, p.origin + p.u * p.mosaic.cols + p.v * p.mosaic.rows]
        assert abs(corners[0][0] + corners[1][0]) < 1e-9             # centred on the network's axis
    assert zs == sorted(zs, reverse=True)
    for a, b in zip(zs, zs[1:]):                                     # rows of the grid do not overlap
        p = grid.placements[maps[zs.index(a)]]
        assert a - p.mosaic.rows * abs(p.v[2]) > b
    others_normal = {i: p for i, p in normal.placements.items() if i not in maps}
    assert all(np.allclose(grid.placements[i].origin, p.origin) for i, p in others_normal.items())
