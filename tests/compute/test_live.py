"""Live activations: probe -> textures equal the real layer outputs; pixels follow the input;
NaN/Inf show the warning colour; a model that raises keeps the viewer's last frame."""
import numpy as np
import pytest
import torch

from engine.compute.live import LiveSession
from engine.compute.probe import LiveProbe
from engine.model.recorder import record
from engine.model.inputs import ExampleInputs
from engine.model.registry import load_model
from engine.pipeline import scene_from_graph
from engine.render.context import OffscreenContext
from engine.render.renderer import Renderer


class _One:
    """A fixed input source (the real ones live in engine/compute/inputs.py)."""

    def __init__(self, ex):
        self.ex = ex

    def frame(self, t, live):
        return self.ex

    def describe(self, t):
        return "fixed"


@pytest.fixture(scope="module")
def ctx():
    with OffscreenContext() as c:
        yield c


def probe_matches_record(name, atol=1e-5):
    model, ex, _, _ = load_model(name)
    g = record(model, ex, capture=True)
    p = LiveProbe(model, g, dtype="float32")
    f = p.run(ex)
    assert f.error is None and set(f.layers) == {l.id for l in g.layers}
    for l in g.layers:
        ref = l.values.reshape(-1)
        got = f.layers[l.id].values.astype(np.float32)
        np.testing.assert_allclose(got, ref, atol=atol, rtol=1e-5, err_msg=l.name)
        np.testing.assert_allclose(f.layers[l.id].scale, 1 / max(np.abs(l.values).max(), 1e-30), rtol=1e-5)
    # float16 transfer (the CUDA default): equal within float16 rounding
    f16 = LiveProbe(model, g, dtype="float16").run(ex)
    for l in g.layers:
        ref = l.values.reshape(-1)
        assert f16.layers[l.id].values.dtype == np.float16
        np.testing.assert_allclose(f16.layers[l.id].values.astype(np.float32), ref,
                                   atol=1e-3 * max(1.0, float(np.abs(ref).max())), rtol=1e-3, err_msg=l.name)
    return model, ex, g, p


def test_textures_equal_real_layer_outputs_cnn(ctx):
    model, ex, g, _ = probe_matches_record("cnn")
    scene = scene_from_graph(g)
    s = LiveSession(model, g, scene, _One(ex))
    with Renderer(scene, (320, 240), samples=0) as r:
        s.apply(s.compute(0), 0, renderer=r)
        for l in g.layers:
            if r.has_layer(l.id):
                np.testing.assert_allclose(r.read_texture(l.id), l.values.reshape(-1),
                                           atol=1e-5, rtol=1e-5, err_msg=l.name)


def test_textures_equal_real_layer_outputs_minilm():
    _, _, g, _ = probe_matches_record("minilm", atol=1e-4)
    assert sum(l.op == "attention_probs" for l in g.layers) == 6     # one map per layer, live


@pytest.mark.parametrize("name", ["resnet18", pytest.param("efficientnet_b0", marks=pytest.mark.slow),
                                  pytest.param("densenet121", marks=pytest.mark.slow)])
def test_replayed_outputs_equal_copies_through_in_place_ops(name):
    """torchvision blocks write into their layers' outputs (ReLU(inplace=True), ``out +=
    identity``, DenseNet's shared buffers); the replay's values still equal copies taken as each
    layer ran, on the first frame and on a new input after it."""
    model, ex, g, p = probe_matches_record(name)
    x = ExampleInputs((torch.randn_like(ex.args[0]),), {})
    ref = record(model, x, capture=True)
    f = p.run(x)
    assert p.recordings == 0
    by = {l.name: l.values.reshape(-1) for l in ref.layers}
    for l in g.layers:
        np.testing.assert_allclose(f.layers[l.id].values, by[l.name], atol=1e-5, rtol=1e-5, err_msg=l.name)
    if name == "resnet18":                   # the += targets go through the rebinding alias
        assert p.replayer.rebind and not p.replayer.clone
    flipped = list(p.replayer.flipped)
    assert flipped and not any(m.inplace for m in flipped)
    p.close()
    assert all(m.inplace for m in flipped)           # the user's modules as they were


def nonbg_mean(img, bg):
    return img[(np.abs(img.astype(int) - bg).sum(axis=2) > 30)].astype(float).mean(axis=0)


def test_pixels_follow_the_input(ctx):
    model, ex, _, _ = load_model("cnn")
    g = record(model, ex, capture=False)
    scene = scene_from_graph(g)
    other = ExampleInputs((torch.rand_like(ex.args[0]) * 4 - 2,), {})
    s = LiveSession(model, g, scene, _One(ex))
    with Renderer(scene, (480, 320), samples=0) as r:
        def shot(inputs):
            s.source = _One(inputs)
            s.apply(s.compute(0), 0, renderer=r)
            r.draw(scene.camera)
            return r.read_pixels().astype(int)
        a1, a2, b = shot(ex), shot(ex), shot(other)
    assert np.abs(a1 - a2).max() <= 2                  # same input, same picture
    assert np.abs(a1 - b).mean() > 1.0                 # new input, new colours


class NaNNet(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 4, 3, padding=1)
        self.fc = torch.nn.Linear(4 * 8 * 8, 10)

    def forward(self, x):
        y = self.conv(x)
        y = y * torch.where(torch.arange(4).view(1, 4, 1, 1) == 1, float("nan"), 1.0)  # channel 1 -> NaN
        return self.fc(torch.nan_to_num(y).flatten(1))


def test_nan_activations_are_counted_and_drawn_magenta(ctx):
    torch.manual_seed(0)
    model = NaNNet().eval()
    x = torch.randn(1, 3, 8, 8)
    g = record(model, x)
    scene = scene_from_graph(g)
    s = LiveSession(model, g, scene, _One(ExampleInputs((x,), {})))
    frame = s.compute(0)
    mul = next(l for l in g.layers if l.op == "mul")
    assert frame.layers[mul.id].nonfinite == 64 and frame.nonfinite >= 64
    slab = scene.slab(mul.id)
    # look straight at the NaN tile (channel 1: top-right tile of the 2x2 mosaic)
    from engine.scene.camera import Camera
    center = slab.origin + 12 * slab.u + 4 * slab.v
    cam = Camera(position=center + np.array([0, 0, 0.6])).look_at(center)
    with Renderer(scene, (200, 200), samples=0) as r:
        s.apply(frame, 0, renderer=r)
        r.draw(cam)
        img = r.read_pixels()[70:130, 70:130].astype(int)
    magenta = (img[..., 0] > 180) & (img[..., 2] > 180) & (img[..., 1] < 90)
    assert magenta.mean() > 0.15, magenta.mean()   # discs with sphere shading and gaps
    # a finite tile (channel 0, top-left) has no magenta
    center0 = slab.origin + 4 * slab.u + 4 * slab.v
    cam0 = Camera(position=center0 + np.array([0, 0, 0.6])).look_at(center0)
    with Renderer(scene, (200, 200), samples=0) as r:
        s.apply(frame, 0, renderer=r)
        r.draw(cam0)
        img0 = r.read_pixels()[70:130, 70:130].astype(int)
    assert ((img0[..., 0] > 180) & (img0[..., 2] > 180) & (img0[..., 1] < 90)).mean() < 0.01


class MaskedScores(torch.nn.Module):
    """Hand-written causal attention: scores masked with -inf (by design) before a softmax; an
    input with a NaN gives real NaN scores too."""

    def __init__(self):
        super().__init__()
        self.q = torch.nn.Linear(8, 8)
        self.k = torch.nn.Linear(8, 8)

    def forward(self, x):
        s = self.q(x) @ self.k(x).transpose(-2, -1)
        T = x.shape[1]
        return torch.softmax(s.masked_fill(torch.ones(T, T, dtype=torch.bool).triu(1), float("-inf")), dim=-1)


def test_masked_scores_are_masks_not_errors(ctx):
    """-inf entries of scores that feed a softmax are masked keys: not counted as NaN/Inf, drawn
    dim (palette.MASKED), not magenta; a real NaN in the same layer still is both."""
    from engine.colormaps import palette
    from engine.scene.camera import Camera
    torch.manual_seed(0)
    model = MaskedScores().eval()
    x = torch.randn(1, 16, 8)
    g = record(model, x)
    scores = g.layer("masked_fill")
    assert scores.attrs.get("neg_inf_is_mask") and not g.layer("matmul").attrs.get("neg_inf_is_mask")
    scene = scene_from_graph(g)
    slab = scene.slab(scores.id)
    assert slab.masks
    s = LiveSession(model, g, scene, _One(ExampleInputs((x,), {})))
    frame = s.compute(0)
    assert frame.layers[scores.id].nonfinite == 0 and frame.nonfinite == 0   # 120 masked entries, no error
    masked_rgb, magenta_rgb = np.array(palette.MASKED) * 255, np.array(palette.NONFINITE) * 255

    def pixel(frame, col, row):
        c = slab.origin + (col + 0.5) * slab.u + (row + 0.5) * slab.v
        cam = Camera(position=c + np.array([0, 0, 0.4])).look_at(c)
        with Renderer(scene, (101, 101), samples=0) as r:
            s.apply(frame, 0, renderer=r)
            r.draw(cam)
            return r.read_pixels()[50, 50].astype(int)
    above = pixel(frame, 12, 3)                       # key 12 > query 3: masked
    assert np.abs(above - masked_rgb).max() < 40 and np.abs(above - magenta_rgb).max() > 100, above
    y = x.clone()
    y[0, 3, 0] = float("nan")                         # query 3 and key 3 become NaN: real errors
    bad = LiveSession(model, g, scene, _One(ExampleInputs((y,), {}))).compute(0)
    assert bad.layers[scores.id].nonfinite > 0
    assert np.abs(pixel(bad, 2, 3) - magenta_rgb).max() < 60       # a NaN score (key 2, query 3): magenta


class Flaky(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = torch.nn.Linear(4, 4)
        self.fail = False

    def forward(self, x):
        if self.fail:
            raise RuntimeError("exploded at step 7")
        return torch.relu(self.fc(x))


def test_model_that_raises_mid_run_keeps_last_frame():
    m = Flaky().eval()
    ex = ExampleInputs((torch.randn(1, 4),), {})
    g = record(m, ex)
    scene = scene_from_graph(g)
    s = LiveSession(m, g, scene, _One(ex), live=True)
    good = s.compute(0)
    s.apply(good, 0)
    before = [None if sl.values is None else np.array(sl.values) for sl in scene.slabs]
    m.fail = True
    bad = s.compute(1)
    assert bad.error and "exploded at step 7" in bad.error
    s.apply(bad, 1)
    for sl, b in zip(scene.slabs, before):
        np.testing.assert_array_equal(sl.values, b)




def test_frames_of_a_held_item_are_not_computed_again():
    """An item of a list is shown for ``hold`` frames: the worker runs the model once for it and hands the
    other frames over as (t, None) -- the values shown stay; a picked item, pulse mode and a perturbed
    single input decide as they should."""
    import time

    from engine.compute.live import ProbeWorker
    from engine.pipeline import LiveOptions, load
    from engine.scenefile import resolve_spec
    s = load(resolve_spec("digits-cnn"), LiveOptions(input="digits", live=True)).session
    try:
        hold = s.source.hold
        assert hold > 2
        assert s.unchanged(1) and s.unchanged(hold - 1) and not s.unchanged(hold)   # frame 0 ran at load
        s.item = 5                                         # a picked point: every frame shows it
        assert not s.unchanged(1)
        s.compute(1)
        assert s.unchanged(3 * hold + 1)
        s.item = None
        s.pulse = True                                     # pulse frames differ by what they reveal
        assert s.input_key(1) is None and not s.unchanged(1)
        s.pulse = False
        first = s.compute(0)
        before = {lid: np.array(lf.values) for lid, lf in first.layers.items()}
        calls: list[int] = []
        compute = s.compute
        s.compute = lambda t: calls.append(t) or compute(t)
        w = ProbeWorker(s, start=1)
        got: dict = {}
        deadline = time.monotonic() + 60
        while hold not in got and time.monotonic() < deadline:
            item = w.take()
            if item is None:
                time.sleep(0.01)
                continue
            got[item[0]] = item[1]
        w.stop()
        assert all(got[t] is None for t in range(1, hold)), "a held item's frames were computed again"
        assert got[hold] is not None and calls[0] == hold and len(calls) <= 2    # (the worker may be one ahead)
        assert any(not np.array_equal(before[lid], lf.values) for lid, lf in got[hold].layers.items())
    finally:
        s.close()
    noise = load(resolve_spec("digits-cnn"), LiveOptions(input="noise", live=True)).session
    try:
        assert noise.input_key(1) is None and not noise.unchanged(1)      # a perturbed input: every frame differs
    finally:
        noise.close()


def test_pulse_steps_a_recurrent_state_through_time():
    """--pulse on an LSTM: once the pulse reaches a state layer its time steps appear one after
    another (rows beyond the front are 0), then all of them; other layers are whole."""
    from engine.pipeline import LiveOptions, load
    from engine.scenefile import resolve_spec
    loaded = load(resolve_spec("lstm"), LiveOptions(input="noise", pulse=True))
    sess = loaded.session
    frame = sess.compute(0)
    h = next(s for s in loaded.scene.slabs if s.name == "rnn.layer1.h")
    full = np.asarray(frame.layers[h.layer_id].values).reshape(16, 64)
    counts = []
    for t in range(h.rank, h.rank + sess.pulse_hold + 1):
        sess.apply(frame, t)
        shown = sess.steps_shown(h.layer_id, h.rank, t)
        v = np.asarray(h.values).reshape(16, 64)
        np.testing.assert_array_equal(v[:shown], full[:shown])
        assert not v[shown:].any()
        counts.append(shown)
    assert counts[0] < counts[-1] == 16 and counts == sorted(counts)
    inp = next(s for s in loaded.scene.slabs if s.name == "input")
    assert sess.steps_shown(inp.layer_id, inp.rank, h.rank) is None
    sess.close()
