"""Viewer logic without a window: fly/orbit camera control and ray picking on the scene data."""
import numpy as np
import pytest

from engine.app.controls import CameraController
from engine.scene.camera import Camera
from engine.scene.pick import framing_position, pick
from tests.test_layout_scene import residual_graph
from engine.scene.build import build_scene


def test_wasd_moves_along_view_and_shift_is_faster():
    cam = Camera(position=[0, 0, 10])
    c = CameraController(cam, extent=8.0)
    c.key("w", True)
    c.update(0.5)
    slow = 10 - cam.position[2]
    assert slow > 0 and abs(cam.position[0]) < 1e-9          # forward is -z
    c.key("shift", True)
    z = cam.position[2]
    c.update(0.5)
    assert (z - cam.position[2]) == pytest.approx(4 * slow)
    c.key("w", False)
    c.key("e", True)
    y = cam.position[1]
    c.update(0.5)
    assert cam.position[1] > y                                # E goes up
    c.key("e", False)
    assert c.update(0.5) is False                             # nothing held: no motion


def test_drag_looks_and_wheel_changes_speed():
    cam = Camera(position=[0, 0, 10])
    c = CameraController(cam, extent=8.0)
    f0 = cam.forward.copy()
    c.drag(100, 0)
    assert np.dot(f0, cam.forward) < 0.99
    s = c.speed
    c.scroll(2)
    assert c.speed > s


def test_orbit_keeps_distance_to_target():
    cam = Camera(position=[0, 0, 10])
    c = CameraController(cam, extent=8.0, target=np.zeros(3))
    assert c.toggle_orbit() == "orbit"
    c.drag(150, 40)
    assert np.linalg.norm(cam.position) == pytest.approx(10.0)
    assert np.dot(cam.forward, -cam.position / 10) == pytest.approx(1.0, abs=1e-6)


def test_fly_to_arrives_looking_at_target():
    cam = Camera(position=[0, 0, 10])
    c = CameraController(cam, extent=8.0)
    c.fly_to(np.array([5.0, 1.0, 3.0]), np.array([5.0, 1.0, -2.0]), duration=0.5)
    for _ in range(20):
        c.update(0.05)
    assert not c.flying
    np.testing.assert_allclose(cam.position, [5, 1, 3], atol=1e-9)
    np.testing.assert_allclose(cam.forward, [0, 0, -1], atol=1e-6)


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
    assert "l0" in p.describe() and "neuron 90" in p.describe()
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
