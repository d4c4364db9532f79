"""The viewer's pick inspector as plain data: contribution lines, highlight segments, kernel panel."""
from __future__ import annotations

import numpy as np
import pytest

from engine.app.inspector import Inspector, neuron_position
from engine.compute.contrib import bias_of, contributions
from engine.compute.unmosaic import SceneValues
from engine.pipeline import LiveOptions, load
from engine.scenefile import resolve_spec
from engine.scene.pick import Pick


@pytest.fixture(scope="module")
def loaded():
    return load(resolve_spec("cnn"), LiveOptions(input="noise"))


def pick_of(scene, layer_id, index):
    s = scene.slab(layer_id)
    col, row = next((c, r) for r in range(s.rows) for c in range(s.cols) if s.index(c, r) == index)
    return Pick(s, 1.0, s.center, col, row)


def test_linear_pick_lines_and_segments(loaded):
    g, scene = loaded.graph, loaded.scene
    lin = next(l for l in g.layers if l.kind == "linear")
    ins = Inspector(scene, g, loaded.model, loaded.session, k=5)
    got = ins.inspect(pick_of(scene, lin.id, 3))
    assert got.lines[0] == f"Linear   {lin.params:,} parameters"          # the op first
    assert got.panel.shape == (150, 360, 4)                             # the layer's histogram, nothing else
    assert got.lines[1].endswith("strongest inputs:") and len(got.lines) == 7
    assert all(line.lstrip().startswith("from ") for line in got.lines[2:])
    assert got.positions.shape == (10, 3) and got.weights.shape == (10,)
    assert np.allclose(got.positions[1::2], neuron_position(scene.slab(lin.id), 3))
    assert np.abs(got.weights).max() == pytest.approx(1.0)
    # the live value equals contributions + bias (the session's newest frame, not stale slabs)
    vals = SceneValues(scene, loaded.session)
    allc = contributions(loaded.model, g, lin, 3, vals, k=None)
    assert sum(c.value for c in allc) + bias_of(loaded.model, lin, 3) == pytest.approx(float(vals[lin.id][3]), abs=1e-4)
    assert ins.value_of(pick_of(scene, lin.id, 3)) == pytest.approx(float(vals[lin.id][3]))   # the HUD's one value
    src = scene.slab(allc[0].src_layer_id)
    assert np.allclose(got.positions[0], neuron_position(src, allc[0].src_index))


def test_conv_pick_shows_kernels_and_model_less_viewer_skips(loaded):
    g, scene = loaded.graph, loaded.scene
    conv = next(l for l in g.layers if l.kind == "conv")
    got = Inspector(scene, None, None, loaded.session).inspect(pick_of(scene, conv.id, 100))
    assert got.panel is not None and got.panel.shape[2] == 4        # model and graph from the session
    assert got.panel.shape[0] > 150 + 6                              # the kernels under the histogram
    assert any("RGB" in line for line in got.lines) and got.positions.shape[0] == 6   # 3 input channels
    assert got.lines[0].startswith("Conv2d") and "kernel_size 3x3" in got.lines[0]
    bare = Inspector(scene).inspect(pick_of(scene, conv.id, 100))
    assert bare.lines == [] and bare.positions is None and bare.panel.shape == (150, 360, 4)   # histogram only
    assert Inspector(scene, g, loaded.model).inspect(None).positions is None


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_recurrent_pick_shows_its_gates(cell):
    """Picking a unit of a recurrent state at a step lists its gates, computed from the layer below at
    that step and this layer's previous step; the h (and c) they give is the picked state's value."""
    import re
    loaded = load(resolve_spec(cell), LiveOptions())
    graph, scene = loaded.graph, loaded.scene
    ins = Inspector(scene, graph, loaded.model)
    for name in ("rnn.layer1.h", "rnn.layer0.h") + (("rnn.layer1.c",) if cell == "lstm" else ()):
        slab = next(s for s in scene.slabs if s.name == name)
        t, unit = 5, 17
        index = t * 64 + unit
        col, row = slab.mosaic.texel(index)
        got = ins.inspect(Pick(slab, 1.0, slab.center, int(col), int(row)))
        assert got.lines[1].startswith(("LSTM" if cell == "lstm" else "GRU") + f" layer {name[9]}, step 5, unit 17")
        gates = dict((k.strip(), float(v)) for k, v in re.findall(r"([a-z ]+?) ([+-]\d+\.\d+)", got.lines[2]))
        base = name.rsplit(".", 1)[0]
        h = np.asarray(next(s for s in scene.slabs if s.name == base + ".h").values).reshape(16, 64)
        assert gates["h"] == pytest.approx(h[t, unit], abs=2e-3)
        if cell == "lstm":
            c = np.asarray(next(s for s in scene.slabs if s.name == base + ".c").values).reshape(16, 64)
            assert gates["c"] == pytest.approx(c[t, unit], abs=2e-3)
            assert 0 <= gates["forget gate"] <= 1 and 0 <= gates["input gate"] <= 1


def test_picking_a_classifiers_output_lists_its_top_classes():
    """The default scene's digits-cnn on a digit: picking its output layer lists the top-5 classes by
    softmax, the true digit first."""
    from engine.pipeline import LiveOptions, load
    from engine.scenefile import resolve_spec
    loaded = load(resolve_spec("scenes/default.toml"), LiveOptions(live=True))
    sess = loaded.session
    sess.item = 42
    sess.apply(sess.compute(1), 1)
    out = loaded.graph.layers[-1]
    got = Inspector(loaded.scene, loaded.graph, loaded.model, sess).inspect(pick_of(loaded.scene, out.id, 0))
    label = sess.label.split("label ")[1].split(")")[0]
    assert got.lines[1] == "top classes:" and len(got.lines) >= 7
    assert got.lines[2].split()[1] == label
    sess.close()


def test_histogram_marks_the_neuron_among_its_layer():
    """Bars where the values are (square-root counts), the picked value's line at its place, the
    non-finite and masked ones left out of the bars."""
    from engine.app.histogram import BAR, MARK, ZERO_BAR, histogram_image
    rng = np.random.default_rng(0)
    v = np.concatenate([rng.normal(0, 1, 5000), [np.nan, np.inf, -np.inf, -np.inf]])
    img = histogram_image(v, marker=1.5, title="layer")
    finite = v[np.isfinite(v)]
    lo, hi = finite.min(), finite.max()
    mark_cols = np.nonzero((img[..., :3] == MARK[:3]).all(axis=2).sum(axis=0) > 20)[0]
    assert len(mark_cols)
    x = mark_cols.mean()
    assert abs((x - 8) / (img.shape[1] - 16) - (1.5 - lo) / (hi - lo)) < 0.02
    bars = ((img[..., :3] == BAR[:3]) | (img[..., :3] == ZERO_BAR[:3])).all(axis=2)
    heights = bars.sum(axis=0)
    centre = int(8 + (0 - lo) / (hi - lo) * (img.shape[1] - 16))
    assert heights[centre - 3:centre + 4].max() > 3 * heights[8:20].max()       # the peak at 0, tails low
    flat = histogram_image(np.full(10, 2.0))                                      # one value: still drawn
    assert ((flat[..., :3] == BAR[:3]).all(axis=2) | (flat[..., :3] == ZERO_BAR[:3]).all(axis=2)).sum() > 20
    assert histogram_image(np.array([np.nan])).shape == (150, 360, 4)


def test_histogram_follows_live_frames():
    loaded = load(resolve_spec("cnn"), LiveOptions(input="digits", live=True))
    sess = loaded.session
    g, scene = loaded.graph, loaded.scene
    conv = next(l for l in g.layers if l.kind == "conv")
    ins = Inspector(scene, g, loaded.model, sess)
    before = ins.histogram(pick_of(scene, conv.id, 5))
    frame = sess.compute(40)                     # the next digit (each one is held for a while)
    sess.apply(frame, 40)
    after = ins.histogram(pick_of(scene, conv.id, 5))
    assert before.shape == after.shape and np.abs(before.astype(int) - after.astype(int)).sum() > 1000
    sess.close()
