"""Playground drawing on EGL/llvmpipe: field textures, raymarched isosurfaces, height fields, recording."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from engine.compute.classifier import MLP
from engine.compute.field import FieldEvaluator
from engine.compute.playground import PlaygroundSession
from engine.render.context import OffscreenContext
from engine.render.passes.field import FieldPass
from engine.render.renderer import Renderer
from engine.scene.camera import Camera
from engine.scene.nodes import DecisionField, Scene

SIZE = (200, 150)


@pytest.fixture(scope="module")
def ctx():
    with OffscreenContext() as c:
        yield c


def _probs(model, x):
    with torch.no_grad():
        return torch.softmax(model(torch.as_tensor(x, dtype=torch.float32)), 1).numpy()


@pytest.mark.parametrize("dims,res", [(2, 512), (3, 128)])
def test_texture_equals_class_probabilities(ctx, dims, res):
    model = MLP(dims, [8, 8], 2, "tanh", seed=4)
    field = FieldEvaluator(dims, res).evaluate(model)
    node = DecisionField(dims)
    node.set_field(field)
    with Renderer(Scene([], nodes=[node]), SIZE) as r:
        tex = r.pass_of(FieldPass).read_texture(node)
    assert tex.shape == (res,) * dims
    idx = np.random.default_rng(1).integers(0, res, (50, dims))
    expect = _probs(model, np.array([field.point(i) for i in idx]))[:, 1]
    np.testing.assert_allclose(tex[tuple(idx[:, k] for k in reversed(range(dims)))], expect, atol=1e-5)


def _render(node, cam):
    with Renderer(Scene([], nodes=[node]), SIZE) as r:
        r.draw(cam)
        return r.read_pixels().astype(np.int32)


def test_isosurface_moves_when_weights_change(ctx):
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(3, 2))
    with torch.no_grad():      # boundary: the plane x = 0.3 (logit difference 4 * (x - 0.3))
        model[0].weight.copy_(torch.tensor([[-2.0, 0, 0], [2.0, 0, 0]]))
        model[0].bias.copy_(torch.tensor([0.6, -0.6]))
    ev = FieldEvaluator(3, 48)
    node = DecisionField(3, steps=64)
    cam = Camera(position=np.array([0.0, 1.5, 7.0])).look_at([0, 0, 0])
    node.set_field(ev.evaluate(model))
    a = _render(node, cam)
    with torch.no_grad():
        model[0].bias.copy_(torch.tensor([-0.6, 0.6]))          # boundary moves to x = -0.3
    node.set_field(ev.evaluate(model))
    b = _render(node, cam)
    node.show_box = False
    with torch.no_grad():
        model[0].weight.zero_()                                 # p = 0.5 - eps everywhere: no shell crossing
        model[0].bias.copy_(torch.tensor([0.0, -0.01]))
    node.set_field(ev.evaluate(model))
    empty = _render(node, cam)
    diff = np.abs(a - b).sum(axis=2)
    assert (diff > 30).mean() > 0.01, "the isosurface did not move"
    # the boundary shell (whitish: bright in every channel) sits right of centre first, left of it after
    def centroid(img):
        w = (img.min(axis=2) > 60).sum(axis=0).astype(float)
        return float((w * np.arange(len(w))).sum() / max(w.sum(), 1.0))
    assert centroid(a) > SIZE[0] / 2 > centroid(b), (centroid(a), centroid(b))
    assert a.sum(axis=2).mean() > empty.sum(axis=2).mean() + 5


def test_height_field_and_points_render(ctx):
    s = PlaygroundSession(dataset="circles", layers=[6], seed=0, resolution=128)
    s.train(30)
    node = DecisionField(2)
    node.set_field(s.refresh())
    cam = Camera(position=np.array([0.0, 7.0, 0.01])).look_at([0, 0, 0])
    img = _render(node, cam)
    node.set_points(s.data.x, s.data.y)
    with_points = _render(node, cam)
    centre = img[SIZE[1] // 2 - 10:SIZE[1] // 2 + 10, SIZE[0] // 2 - 10:SIZE[0] // 2 + 10].reshape(-1, 3).mean(0)
    assert centre.max() > 60                       # the surface is drawn (not background)
    assert np.abs(with_points - img).sum(axis=2).astype(bool).mean() > 0.005


def test_stage_pick_and_activations(ctx):
    from engine.app.playground import apply_key
    from engine.render.playground_stage import PlaygroundStage
    s = PlaygroundSession(dataset="shells3d", layers=[5], seed=0, resolution=32)
    st = PlaygroundStage(s, SIZE)
    try:
        st.frame()
        o = st.camera.position
        p = st.pick(o, (np.zeros(3) - o) / np.linalg.norm(o))
        assert p is not None and np.all(np.abs(p) <= 1)
        st.point = p
        before = st.renderer.read_texture(st.scene.slabs[1].layer_id).copy()
        st.point = -p + 0.05
        st.frame()
        assert not np.allclose(st.renderer.read_texture(st.scene.slabs[1].layer_id), before)
        for key in ("]", "y", "n", "f", "t", "x", "'", "b", "c", "h", "space"):
            apply_key(s, st, key)
        st.frame()
        assert st.paused and s.config.layers == [5, 6] and s.config.activation == "relu"
        assert len(st.scene.slabs) == len(s.graph.layers)        # network scene follows the new shape
        st.draw()
        assert st.read_pixels().shape == (SIZE[1], SIZE[0], 3)
        assert any("lr 0.06" in line for line in st.hud_lines())
    finally:
        st.release()


def test_weights_are_drawn_as_wide_coloured_edges(ctx):
    from engine.render.playground_stage import PlaygroundStage
    from engine.render.passes.highlight import HighlightPass, highlight_vertices
    s = PlaygroundSession(dataset="circles", layers=[4], seed=0, resolution=32)
    st = PlaygroundStage(s, (640, 480))
    try:
        assert not any(e.kind == "weights" for e in st.scene.edges)    # not thin GL lines ...
        assert st.renderer.pass_of(HighlightPass).vertices > 0          # ... but overlay quads
        # quad width follows |w|: the vertex data carries each segment's signed, normalized weight
        v = highlight_vertices(np.zeros((4, 3), np.float32), np.array([1.0, 1.0, -0.2, -0.2], np.float32))
        assert v[0, 8] == 1.0 and v[6, 8] == pytest.approx(-0.2)
        st.frame()
        st.renderer.set_hud(None)                                      # the network, not the HUD text
        st.draw()
        img = st.read_pixels().astype(int)
        warm = (img[..., 0] > 200) & (img[..., 1] > 180) & (img[..., 2] < 90)     # positive weights
        cold = (img[..., 0] < 90) & (img[..., 1] > 200) & (img[..., 2] > 200)     # negative weights
        assert warm.sum() > 20 and cold.sum() > 20
    finally:
        st.release()


def test_u_shows_the_entropy_field_beside_the_decision_field(ctx):
    """U: a second field node, left of the decision field, shows the binary entropy (bits) of p: 1 where
    the classifier is unsure (p = 0.5), near 0 where it is sure; the decision field keeps showing p, the
    camera frames both, pixels appear where the entropy field stands; U again: it is gone."""
    from engine.app.playground import apply_key
    from engine.render.playground_stage import PlaygroundStage, entropy_field
    from engine.scene.nodes import DecisionField
    s = PlaygroundSession(dataset="circles", layers=[4], seed=0, resolution=32)
    st = PlaygroundStage(s, SIZE)
    try:
        st.paused = True
        st.frame()
        p = st.field.data.astype(np.float64).copy()
        assert "entropy" in apply_key(s, st, "u")
        st.frame()
        fields = st.scene.nodes_of(DecisionField)
        assert len(fields) == 2 and st.entropy in fields
        assert st.entropy.center[0] < st.field.center[0] - 2 * st.field.half     # beside, not overlapping
        np.testing.assert_allclose(st.field.data.astype(np.float64), p, atol=2e-3)   # p stays
        h = st.entropy.data.astype(np.float64)
        q = np.clip(p if p.ndim == 2 else p[..., 0], 1e-7, 1 - 1e-7)
        np.testing.assert_allclose(h, -(q * np.log2(q) + (1 - q) * np.log2(1 - q)), atol=2e-3)
        assert h.max() <= 1 + 1e-6 and h.min() >= 0
        # both boxes in view: the entropy field's centre projects inside the picture, and drawing it adds pixels
        vp = st.camera.view_projection(SIZE[0] / SIZE[1])
        c = vp @ np.r_[st.entropy.center, 1.0]
        assert abs(c[0] / c[3]) < 1 and abs(c[1] / c[3]) < 1
        st.renderer.set_hud(None)
        st.draw()
        with_entropy = st.read_pixels().astype(int)
        fields.remove(st.entropy)
        st.draw()
        without = st.read_pixels().astype(int)
        fields.append(st.entropy)
        assert np.abs(with_entropy - without).sum(axis=2).astype(bool).mean() > 0.01
        apply_key(s, st, "u")
        st.frame()
        assert st.entropy is None and len(st.scene.nodes_of(DecisionField)) == 1
        assert entropy_field(s.refresh()).data.shape == (32, 32)
    finally:
        st.release()


def test_the_entropy_option_shows_the_entropy_field_from_the_start(ctx):
    from engine.render.playground_stage import PlaygroundStage
    s = PlaygroundSession(dataset="shells3d", layers=[4], seed=0, resolution=16, entropy=True)
    st = PlaygroundStage(s, SIZE)
    try:
        st.frame()
        assert st.show_entropy and st.entropy.data.shape == (16, 16, 16)
        assert any("entropy" in lb.text for lb in st.scene.labels)
    finally:
        st.release()


@pytest.mark.parametrize("n", [16, 21, 40])
def test_brick_ranges_bound_every_sample_a_ray_can_take_in_a_brick(n):
    """Each brick's (min, max) holds every texel of the brick and of its neighbours (the texels a
    trilinear sample inside the brick can read), for sizes that are and are not multiples of a brick."""
    from engine.render.passes.field import BRICK, brick_ranges
    p = np.random.default_rng(n).random((n, n, n)).astype(np.float32) ** 3
    r = brick_ranges(p)
    b = -(-n // BRICK)
    assert r.shape == (b, b, b, 2)
    for idx in np.ndindex(b, b, b):
        sl = tuple(slice(max(0, i * BRICK - 1), min(n, (i + 1) * BRICK + 1)) for i in idx)
        block = p[sl]
        assert r[idx][0] <= block.min() and r[idx][1] >= block.max()


def _plane(x0: float, slope: float = 2.0):
    """A classifier whose boundary is the plane x = x0 (logit difference 2 * slope * (x - x0))."""
    model = torch.nn.Sequential(torch.nn.Linear(3, 2))
    with torch.no_grad():
        model[0].weight.copy_(torch.tensor([[-slope, 0, 0], [slope, 0, 0]]))
        model[0].bias.copy_(torch.tensor([slope * x0, -slope * x0]))
    return model


def _volume_scene(model, res=48):
    node = DecisionField(3, np.zeros(3), 1.0, show_points=False, show_box=False)
    node.set_field(FieldEvaluator(3, res).evaluate(model))
    scene = Scene()
    scene.add(node)
    cam = Camera(position=np.array([2.2, 1.6, 2.6])).look_at(np.zeros(3))
    return scene, node, cam


def test_shells_marched_at_reduced_resolution_match_full_resolution_and_are_reused(ctx, monkeypatch):
    """Software GL marches the shells at half resolution: the picture matches the full-resolution one
    (same shells, softer edges), a frame with the same camera and field does not march again, a new
    field does; skipping bricks without a shell changes no more than a few pixels."""
    import engine.render.passes.field as fp
    model = _plane(0.3)
    scene, node, cam = _volume_scene(model)
    r = Renderer(scene, SIZE)
    try:
        node.volume_scale = 1.0
        r.draw(cam)
        full = r.read_pixels().astype(int)
        node.volume_scale = None                           # the default: 0.5 on llvmpipe
        marches = []
        real = FieldPass._march
        monkeypatch.setattr(FieldPass, "_march", lambda self, *a: (marches.append(1), real(self, *a)))
        r.draw(cam)
        half = r.read_pixels().astype(int)
        r.draw(cam)
        assert len(marches) == 1                           # the same camera and field: reused
        node.set_field(FieldEvaluator(3, 48).evaluate(_plane(-0.3)))
        r.draw(cam)
        assert len(marches) == 2                           # a new field: marched again
        lit = full.sum(axis=2) > 60
        assert lit.mean() > 0.05
        assert np.mean(np.abs(full - half).max(axis=2)[lit] < 40) > 0.9
        # brick skipping off (every brick may hold a shell): the same picture but for a few pixels
        node.set_field(FieldEvaluator(3, 48).evaluate(model))
        node.volume_scale = 1.0
        r.draw(cam)
        skipped = r.read_pixels().astype(int)
        monkeypatch.setattr(fp, "brick_ranges", lambda p, brick=fp.BRICK: np.tile(
            np.array([0.0, 1.0], np.float32), (-(-p.shape[0] // brick),) * 3 + (1,)))
        node.field_version += 1
        r.draw(cam)
        marched_all = r.read_pixels().astype(int)
        assert (np.abs(skipped - marched_all).max(axis=2) > 8).mean() < 0.002
        assert np.array_equal(skipped, full)
    finally:
        r.release()
    with pytest.raises(ValueError, match="volume_scale"):
        DecisionField(3, volume_scale=0.0)


def test_the_window_evaluates_the_field_a_few_times_a_second_and_at_once_after_a_key(ctx, monkeypatch):
    """field_every: frames in between train and draw but keep the last field (drawing and keys are not
    held by an evaluation); a key makes the next frame evaluate; recordings (0) evaluate every frame."""
    from engine.render.playground_stage import PlaygroundStage
    s = PlaygroundSession(dataset="circles", layers=[4], seed=0, resolution=32)
    calls = []
    real = s.refresh
    monkeypatch.setattr(s, "refresh", lambda: (calls.append(1), real())[1])
    st = PlaygroundStage(s, SIZE)
    try:
        st.frame()
        st.frame()
        assert len(calls) == 2                        # every frame by default
        st.field_every = 3600.0
        version = st.field.field_version
        steps = s.trainer.steps
        for _ in range(3):
            st.frame()
        assert len(calls) == 2 and st.field.field_version == version and s.trainer.steps > steps
        st.field_due = True                           # what a key press sets
        st.frame()
        assert len(calls) == 3 and st.field.field_version == version + 1
    finally:
        st.release()


def test_the_training_curves_are_plotted_in_the_corner(ctx):
    """With curves set (the window, recordings), the loss and gradient-norm curves are a picture in
    the bottom-right corner: its orange (train) and blue (test) lines are there."""
    from engine.compute.curves import COLOURS, curves_image
    from engine.render.passes.panel import PanelPass
    from engine.render.playground_stage import CURVES_EVERY, PlaygroundStage
    s = PlaygroundSession(dataset="circles", layers=[4], seed=0, resolution=32)
    st = PlaygroundStage(s, (640, 480))
    try:
        st.curves = curves_image
        for _ in range(CURVES_EVERY + 1):
            st.frame()
        assert st.renderer.pass_of(PanelPass).size != (0, 0)
        st.renderer.set_hud(None)
        st.draw()
        img = st.read_pixels().astype(int)
        x0, y0, x1, y1 = st.renderer.pass_of(PanelPass).rect((640, 480))
        corner = img[480 - y1:480 - y0, x0:x1]
        for colour in COLOURS.values():
            rgb = np.array([int(colour[i:i + 2], 16) for i in (1, 3, 5)])
            assert (np.abs(corner - rgb).max(axis=2) < 40).sum() > 30, colour
        assert curves_image([]) is None
    finally:
        st.release()


@pytest.mark.parametrize("size", [(640, 360), (1280, 720), (480, 640)])
def test_a_new_layer_reframes_the_camera_on_the_whole_network(ctx, size):
    """Y and N grow the network to the right and down; the camera frames field, network and labels again
    (it ran off the right edge): every corner of what is shown projects inside the picture, and the
    drawn picture has content near its right half without touching the edges."""
    from engine.app.playground import apply_key
    from engine.render.playground_stage import FIELD_CENTER, FIELD_HALF, PlaygroundStage
    from engine.scene.playground import framing_box
    s = PlaygroundSession(dataset="circles", layers=[4, 4], seed=0, resolution=32)
    st = PlaygroundStage(s, size)
    try:
        framed = st.framings
        for _ in range(3):
            apply_key(s, st, "y")
            apply_key(s, st, "n")
        st.frame(train=False)
        assert len(s.config.layers) == 5 and st.framings > framed
        lo, hi = framing_box(st.scene, FIELD_CENTER, FIELD_HALF)
        corners = np.array([[x, y, z, 1.0] for x in (lo[0], hi[0]) for y in (lo[1], hi[1]) for z in (lo[2], hi[2])])
        clip = corners @ st.camera.view_projection(size[0] / size[1]).T
        ndc = clip[:, :3] / clip[:, 3:]
        assert (clip[:, 3] > 0).all() and np.abs(ndc[:, :2]).max() <= 0.95
        assert np.allclose(st.look_target, (lo + hi) / 2)
        st.renderer.set_hud(None)
        st.draw()
        img = st.read_pixels().astype(int)
        bg = np.median(img.reshape(-1, 3), axis=0)
        content = np.abs(img - bg).sum(axis=2) > 40
        rim = max(2, size[0] // 100)
        assert not content[:, -rim:].any() and not content[-rim:].any(), "the network runs off the picture"
        assert content[:, size[0] // 2:].sum() > 200, "no network right of the field"
    finally:
        st.release()
