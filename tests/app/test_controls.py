"""Viewer logic without a window: fly and orbit camera control."""
import numpy as np
import pytest

from engine.app.controls import CameraController
from engine.scene.camera import Camera


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




def test_flying_is_slower_near_geometry():
    """With a nearest-geometry distance the same tap moves less near a layer than far from it."""
    cam = Camera(position=[0, 0, 100])
    c = CameraController(cam, extent=80.0)
    c.nearest = lambda p: float(np.linalg.norm(p))          # one layer at the origin
    c.key("w", True)
    c.update(0.25)
    far = 100 - cam.position[2]
    cam.position = np.array([0.0, 0.0, 1.0])
    c.update(0.25)
    near = 1.0 - cam.position[2]
    assert far == pytest.approx(c.speed * 0.25) and near == pytest.approx(far * 0.1)


def test_keys_are_listed_once_for_the_hud_help_and_readme():
    from pathlib import Path

    from engine.app.keys import PLAYGROUND_KEYS, VIEWER_KEYS, key_hint_lines, keys_help, readme_table
    from engine.cli import build_parser
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    for keys, cmd in ((VIEWER_KEYS, "view"), (PLAYGROUND_KEYS, "playground")):
        assert readme_table(keys) in readme                  # the README's table is this list, verbatim
        for width in (40, 80, 200):
            lines = key_hint_lines(width, keys)
            assert all(len(line) <= width for line in lines)
            assert sum(line.count("  ") + 1 for line in lines) == len(keys)
        helptext = build_parser()._subparsers._group_actions[0].choices[cmd].format_help()
        assert all(k in helptext for k, _, _ in keys) and keys_help(keys) in helptext
    assert "H" in dict((k, s) for k, s, _ in VIEWER_KEYS) and "F1" in dict((k, s) for k, s, _ in PLAYGROUND_KEYS)


def test_the_hud_offers_home_when_nothing_is_in_view():
    """Turned away from the network every slab is culled: the viewer's HUD then says H flies home."""
    from engine.app.viewer import nothing_in_view
    from engine.pipeline import build
    from engine.scene.lod import choose_lod
    from engine.scenefile import resolve_spec
    _, scene = build(resolve_spec("mlp"))
    cam = scene.camera
    assert not nothing_in_view(choose_lod(scene, cam, (800, 600)))
    cam.yaw += 180.0                                            # looking away
    assert nothing_in_view(choose_lod(scene, cam, (800, 600)))
    assert not nothing_in_view({})                              # a cloud-only scene: no slabs to judge
