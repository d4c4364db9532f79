"""Picking a layer and neuron by ray, and framing a slab (plain data)."""
import numpy as np
import pytest

from engine.scene.build import build_scene
from engine.scene.camera import Camera
from engine.scene.pick import framing_position, pick
from tests.fixtures import residual_graph


def test_pick_finds_layer_and_neuron_under_the_cursor():
    sc = build_scene(residual_graph())
    s = sc.slab(0)                             # input 3x8x8: tiles 0 1 / 2 padding
    target = s.origin + 10.5 * s.u + 3.5 * s.v  # tile 1, y 3, x 2
    cam = Camera(position=target + np.array([0, 0, 5.0])).look_at(target)
    o, d = cam.ray(400, 300, (800, 600))       # window centre
    p = pick(sc, o, d)
    assert p is not None and p.slab.layer_id == 0 and (p.col, p.row) == (10, 3)
    assert p.index == 64 + 3 * 8 + 2
    assert p.value == pytest.approx(float(sc.slab(0).values[p.index]))
    assert "l0" in p.describe() and "channel 1, y 3, x 2" in p.describe()     # index 90 of 3x8x8
    assert p.describe(value=0.5).endswith("= +0.5")                            # one value: the one given
    assert pick(sc, o, -d) is None             # behind the camera: nothing
    # the nearest slab wins: from the back, the last layer is hit first
    last = sc.slabs[-1]
    p = pick(sc, last.center - np.array([0, 0, 5.0]), np.array([0, 0, 1.0]))
    assert p.slab.layer_id == last.layer_id


def test_framing_position_sees_the_whole_slab():
    sc = build_scene(residual_graph())
    s = sc.slab(1)
    pos = framing_position(s, 60.0, 16 / 9, from_point=s.center + np.array([0, 0, 50.0]))
    assert pos[2] > s.center[2]
    cam = Camera(position=pos).look_at(s.center)
    vp = cam.view_projection(16 / 9)
    c = np.c_[s.corners, np.ones(4)] @ vp.T
    ndc = c[:, :3] / c[:, 3:]
    assert np.all(np.abs(ndc[:, :2]) <= 1.0)


def test_positions_are_in_the_tensors_own_terms():
    from engine.scene.nodes.slab import Slab
    z = np.zeros(3)

    def slab(kind, shape):
        n = int(np.prod(shape))
        return Slab(0, "x", kind, 1, n, n, (1, n), z, z, z, shape=shape)
    assert slab("attention", (12, 16, 16)).position(16 * 16 + 2 * 16 + 5) == "head 1, query 2, key 5"
    assert slab("conv", (4, 3, 3)).position(9 + 4) == "channel 1, y 1, x 1"
    assert slab("add", (16, 768)).position(768 * 3 + 7) == "token 3, feature 7"
    assert slab("rnn_state", (16, 64)).position(64 + 1) == "step 1, unit 1"
    assert slab("linear", (1, 10)).position(4) == "unit 4" and slab("linear", (10,)).position(4) == "unit 4"
    assert slab("x", ()).position(4) == "#4"
