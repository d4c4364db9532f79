"""Contributions of a picked neuron: weight x activation terms that add up to its real output."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from engine.compute.contrib import bias_of, contributions, module_of
from engine.compute.unmosaic import SceneValues, from_mosaic
from engine.layout.mosaic import mosaic_for, to_mosaic
from engine.model.graph import Edge, Layer, LayerGraph


def two_layer_graph(x_shape, y_shape, name="m", op="Conv2d", kind="conv"):
    layers = [Layer(0, "input", "input", "input", (1, *x_shape)), Layer(1, name, kind, op, (1, *y_shape))]
    return LayerGraph("t", layers, [Edge(0, 1)])


class Wrap(nn.Module):
    def __init__(self, m):
        super().__init__()
        self.m = m

    def forward(self, x):
        return self.m(x)


def check_sum(module, x):
    """All contributions + bias == the module's output, for every output neuron sampled."""
    model = Wrap(module).eval()
    with torch.no_grad():
        y = model(x)[0]
    g = two_layer_graph(tuple(x.shape[1:]), tuple(y.shape))
    values = {0: x[0].numpy().reshape(-1)}
    flat = y.reshape(-1).numpy()
    rng = np.random.default_rng(0)
    for idx in rng.choice(flat.size, size=min(40, flat.size), replace=False):
        cs = contributions(model, g, 1, int(idx), values, k=None)
        total = sum(c.value for c in cs) + bias_of(model, g.layers[1], int(idx))
        assert total == pytest.approx(float(flat[idx]), abs=1e-4, rel=1e-4), idx
        assert all(0 <= c.src_index < x[0].numel() and c.src_layer_id == 0 for c in cs)
    return model, g, values


def test_linear_contributions_sum_to_output_and_are_sorted():
    torch.manual_seed(0)
    lin = nn.Linear(12, 7)
    x = torch.randn(1, 5, 12)                 # tokens x features: index -> (token, out feature)
    model, g, values = check_sum(lin, x)
    top = contributions(model, g, 1, 2 * 7 + 3, values, k=4)
    assert len(top) == 4
    allc = contributions(model, g, 1, 2 * 7 + 3, values, k=None)
    assert abs(top[0].value) == pytest.approx(max(abs(c.value) for c in allc))
    assert [abs(c.value) for c in top] == sorted((abs(c.value) for c in top), reverse=True)
    c = top[0]
    j = c.src_index - 2 * 12
    assert 0 <= j < 12
    assert c.weight == pytest.approx(float(lin.weight.detach()[3, j]))
    assert c.value == pytest.approx(float(lin.weight.detach()[3, j] * x[0, 2, j]), rel=1e-5)


@pytest.mark.parametrize("kw", [dict(stride=1, padding=1), dict(stride=2, padding=2, dilation=2),
                                dict(stride=(2, 1), padding=(0, 1), groups=2), dict(stride=1, padding="same"),
                                dict(stride=2, padding=1, padding_mode="reflect", bias=False)])
def test_conv2d_contributions_sum_to_output(kw):
    torch.manual_seed(1)
    conv = nn.Conv2d(4, 6, 3, **kw)
    check_sum(conv, torch.randn(1, 4, 9, 8))


def test_conv_top_channel_and_receptive_field_centre():
    torch.manual_seed(2)
    conv = nn.Conv2d(3, 2, 3, stride=2, padding=1)
    x = torch.randn(1, 3, 8, 8)
    model, g, values = check_sum(conv, x)
    cs = contributions(model, g, 1, 1 * 16 + 2 * 4 + 3, values, k=None)   # channel 1, y 2, x 3
    assert len(cs) == 3
    assert abs(cs[0].value) == max(abs(c.value) for c in cs)
    for c in cs:
        ci, rest = divmod(c.src_index, 64)
        assert divmod(rest, 8) == (4, 6)        # centre of the window: 2*2-1+1, 3*2-1+1
        assert c.weight == pytest.approx(float(conv.weight.detach()[1, ci].sum()), rel=1e-5)


def test_elementwise_batchnorm_pool_and_graph_fallbacks():
    model = nn.Sequential(nn.BatchNorm2d(2), nn.ReLU(), nn.MaxPool2d(2)).eval()
    model[0].running_var.fill_(4.0)
    x = torch.randn(1, 2, 4, 4)
    with torch.no_grad():
        a = model[0](x)
        b = model[1](a)
        c = model[2](b)
    layers = [Layer(0, "input", "input", "input", (1, 2, 4, 4)), Layer(1, "0", "norm", "BatchNorm2d", (1, 2, 4, 4)),
              Layer(2, "1", "activation", "ReLU", (1, 2, 4, 4)), Layer(3, "2", "pooling", "MaxPool2d", (1, 2, 2, 2))]
    g = LayerGraph("t", layers, [Edge(0, 1), Edge(1, 2), Edge(2, 3)])
    vals = {0: x[0].numpy().ravel(), 1: a[0].numpy().ravel(), 2: b[0].numpy().ravel()}
    (bn,) = contributions(model, g, 1, 21, vals)
    assert (bn.src_layer_id, bn.src_index, bn.weight) == (0, 21, pytest.approx(0.5, rel=1e-4))
    (act,) = contributions(model, g, 2, 5, vals)
    assert (act.src_layer_id, act.src_index, act.weight) == (1, 5, 1.0)
    assert act.value == pytest.approx(float(a.reshape(-1)[5]))
    pool = contributions(model, g, 3, 4 + 3, vals, k=None)      # channel 1, (1, 1): rows 2-3, cols 2-3
    assert sorted(p.src_index for p in pool) == [16 + 10, 16 + 11, 16 + 14, 16 + 15]
    assert pool[0].value == pytest.approx(float(c.reshape(-1)[7]))
    # a hidden source (no values) is looked through; no sources at all: nothing to say
    del vals[1]
    (act,) = contributions(model, g, 2, 5, vals)
    assert act.src_layer_id == 0
    assert contributions(model, g, 0, 0, vals) == []
    assert module_of(model, layers[0]) is None and module_of(model, Layer(9, "2:1", "x", "x", (1,))) is model[2]


def test_unmosaic_inverts_the_display_mosaic():
    rng = np.random.default_rng(3)
    for shape in [(5, 3, 4), (7, 9), (10,), (3, 1, 1)]:
        v = rng.standard_normal(shape).astype(np.float32)
        m = mosaic_for(shape)
        img = to_mosaic(v, m)
        flat = from_mosaic(img, m)
        assert np.array_equal(flat, v.reshape(-1))
        col, row = m.texel(np.arange(m.count))
        assert np.array_equal(img[row, col], v.reshape(-1))
    enc = np.sign(img) * np.log1p(np.abs(img)) * 0.5                # live probe encoding: log + prescale
    assert np.allclose(from_mosaic(enc * 2.0, m, log=True), v.reshape(-1), atol=1e-5)
    assert np.allclose(from_mosaic(img * 0.25, m, prescale=0.25), v.reshape(-1))


def test_scene_values_follow_the_slabs():
    from engine.pipeline import scene_from_graph
    from engine.model.recorder import record
    torch.manual_seed(4)
    model = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 36, 5)).eval()
    x = torch.randn(1, 3, 6, 6)
    graph = record(model, x, capture=True)
    scene = scene_from_graph(graph)
    vals = SceneValues(scene)
    for s in scene.slabs:
        layer = next(l for l in graph.layers if l.id == s.layer_id)
        assert s.mosaic == mosaic_for(layer.shape[1:])
        assert np.allclose(vals[s.layer_id], layer.values.reshape(-1))
    lin = next(l for l in graph.layers if l.kind == "linear")
    with torch.no_grad():
        y = model(x)[0]
    for o in range(5):
        cs = contributions(model, graph, lin, o, vals, k=None)
        assert sum(c.value for c in cs) + bias_of(model, lin, o) == pytest.approx(float(y[o]), abs=1e-4)
