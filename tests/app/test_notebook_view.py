"""engine.show's pieces without a notebook: the NotebookView (offscreen frames, browser events -> camera,
picks, keys, live inputs, playground), the jupyter_rfb widget around it, and show's checks and pictures."""
from __future__ import annotations

import io

import numpy as np
import pytest
import torch

from engine.errors import NeuroscapeError
from engine.notebook import NotebookError, check_size, open_view, show

W, H = 240, 160


def small_model():
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(16, 32), torch.nn.ReLU(), torch.nn.Linear(32, 8))


@pytest.fixture
def view():
    v = open_view(small_model(), input=torch.randn(1, 16), size=(W, H))
    yield v
    v.close()


def changed(a, b) -> float:
    return float(np.mean(np.any(a != b, axis=2)))


def drag(v, x0, x1, y=H / 2):
    for kind, x in (("pointer_down", x0), ("pointer_move", x1), ("pointer_up", x1)):
        v.handle({"type": kind, "x": x, "y": y, "button": 1, "buttons": (1,), "modifiers": ()})


def click(v, x, y):
    for kind in ("pointer_down", "pointer_up"):
        v.handle({"type": kind, "x": x, "y": y, "button": 1, "modifiers": ()})


def on_layer(v) -> tuple[float, float]:
    """A pixel over the first layer's slab (projected centre)."""
    cam = v.camera
    clip = cam.view_projection(W / H) @ np.r_[v.scene.slabs[0].center, 1.0]
    ndc = clip[:3] / clip[3]
    return (ndc[0] * 0.5 + 0.5) * W, (1 - (ndc[1] * 0.5 + 0.5)) * H


def test_frames_are_renders_of_the_size(view):
    img = view.frame()
    assert img.shape == (H, W, 3) and img.dtype == np.uint8
    assert img.std() > 5, "a flat frame"


def test_drag_orbits_and_keeps_the_distance(view):
    before, pos, target = view.frame(), view.camera.position.copy(), view.controls.target.copy()
    drag(view, 100, 180)
    after = view.frame()
    assert changed(before, after) > 0.05
    assert not np.allclose(view.camera.position, pos)
    assert np.linalg.norm(view.camera.position - target) == pytest.approx(np.linalg.norm(pos - target), rel=1e-6)


def test_small_press_is_a_click_that_picks_a_layer(view):
    pos = view.camera.position.copy()
    x, y = on_layer(view)
    click(view, x, y)
    assert np.allclose(view.camera.position, pos), "a click must not move the camera"
    assert view.status.startswith(view.scene.slabs[0].name), view.status
    assert view.status in view.caption()
    click(view, 1, 1)
    assert view.status == "nothing here"


def test_double_click_flies_to_the_layer_and_h_flies_home(view):
    home = view.camera.position.copy()
    x, y = on_layer(view)
    view.handle({"type": "double_click", "x": x, "y": y, "button": 1, "modifiers": ()})
    assert view.status.startswith("flying to") and view.animating
    for i in range(1, 12):
        view.frame(at=i * 0.1)
    assert not view.animating
    layer = view.scene.slabs[0].center
    assert np.linalg.norm(view.camera.position - layer) < np.linalg.norm(home - layer)
    view.handle({"type": "key_down", "key": "h", "modifiers": ()})
    for i in range(12, 24):
        view.frame(at=i * 0.1)
    assert np.allclose(view.camera.position, home, atol=1e-6)


def test_wheel_zooms_in_and_keys_fly(view):
    target = view.controls.target.copy()
    d0 = np.linalg.norm(view.camera.position - target)
    view.handle({"type": "wheel", "x": 10, "y": 10, "dx": 0, "dy": -200, "modifiers": ()})
    assert np.linalg.norm(view.camera.position - target) < d0 * 0.8
    view.frame(at=0.0)
    pos = view.camera.position.copy()
    assert view.handle({"type": "key_down", "key": "w", "modifiers": ()}) and view.animating
    view.frame(at=0.1)
    assert np.dot(view.camera.position - pos, view.camera.forward) > 0, "W flies forward"
    view.handle({"type": "key_up", "key": "w", "modifiers": ()})
    assert not view.animating
    view.handle({"type": "key_down", "key": "g", "modifiers": ()})
    assert view.scene.show_edges is False and view.status == "edges off"


def test_resize_draws_the_new_size_within_limits(view):
    view.handle({"type": "resize", "width": 200, "height": 100, "pwidth": 400, "pheight": 200, "ratio": 2.0})
    expected = (200, 100) if view.renderer.software else (400, 200)
    assert view.size == expected and view.logical == (200.0, 100.0)
    assert view.frame().shape == (expected[1], expected[0], 3)
    view.resize((1e9, 50))
    assert view.size[0] == view.renderer.targets.max_texture


def test_closed_view_says_so(view):
    view.close()
    view.close()                                   # idempotent
    with pytest.raises(NeuroscapeError, match="closed"):
        view.frame()


@pytest.mark.slow
def test_live_input_steps_with_time():
    v = open_view("digits-cnn", input="digits", live=True, size=(W, H))
    try:
        assert v.animating
        a = v.frame(at=0.0)
        assert "digits #0" in v.caption()
        b = v.frame(at=1.1)                         # 33 live frames later: the next digit (each held 30)
        assert "digits #1" in v.caption() and "prediction" in v.caption()
        assert changed(a, b) > 0.01
    finally:
        v.close()


@pytest.mark.slow
def test_widget_frames_leave_the_forward_pass_to_a_thread():
    """By the clock (the widget) the forward passes run off the kernel's thread, so a big model slows its
    values, not the widget; frames at given times (videos) are computed in place, the thread stopped."""
    import threading
    import time
    v = open_view("digits-cnn", input="digits", live=True, size=(W, H))
    threads: list[int] = []
    compute = v.session.compute

    def recorded(t):
        threads.append(threading.get_ident())
        return compute(t)
    v.session.compute = recorded
    try:
        first = v.frame()
        deadline = time.monotonic() + 60
        while v.live_t < 2 and time.monotonic() < deadline:    # frames of the clock arrive from the thread
            time.sleep(0.05)
            v.frame()
        assert v.live_t >= 2 and v.worker is not None
        assert threads and threading.get_ident() not in threads
        threads.clear()
        b = v.frame(at=10.1)                       # a video's frame (an item the thread has not reached): here
        assert v.worker is None and threads == [threading.get_ident()]
        assert "digits #10" in v.caption() and changed(first, b) > 0.01
        v.frame(at=10.2)                                        # the same item: nothing runs again
        assert threads == [threading.get_ident()]
    finally:
        v.close()
    assert v.worker is None


@pytest.mark.slow
def test_playground_trains_as_frames_are_drawn_and_takes_its_keys():
    v = open_view("scenes/playground_circles.toml", size=(W, H))
    try:
        v.stage.field_every = 0.0                  # evaluate the field every frame (no waiting)
        a = v.frame()
        steps = v.playground.trainer.steps
        b = v.frame()
        assert v.playground.trainer.steps > steps and changed(a, b) > 0.005
        assert v.animating
        v.handle({"type": "key_down", "key": " ", "modifiers": ()})
        assert v.stage.paused and not v.animating and v.status == "paused"
        v.handle({"type": "pointer_move", "x": W / 2, "y": H / 2 + 10, "buttons": (), "modifiers": ()})
        assert v.stage.point is not None            # the probe follows the pointer
        drag(v, 60, 140)
        assert changed(b, v.frame()) > 0.05
        framings = v.stage.framings
        v.handle({"type": "key_down", "key": "y", "modifiers": ()})     # a layer more: framed anew, as the window
        v.frame()
        assert v.stage.framings > framings and np.allclose(v.controls.target, v.stage.look_target)
        assert "layers 8-8-8" in v.caption()
    finally:
        v.close()


# ---------------------------------------------------------------- show()
@pytest.mark.parametrize("size", [(0, 10), (-5, 10), (float("nan"), 10), (float("inf"), 10), (10.5, 10),
                                  (True, 10), (100000, 10), (10,), "10", "0x10", None])
def test_bad_sizes_are_one_line_errors(size):
    with pytest.raises(NeuroscapeError) as e:
        show("mlp", size=size)
    assert "\n" not in str(e.value) and "size" in str(e.value)


def test_good_sizes():
    assert check_size((640, 360)) == (640, 360)
    assert check_size([640.0, 360]) == (640, 360)
    assert check_size("640x360") == (640, 360)


def test_bad_targets_and_inputs_name_the_fix():
    with pytest.raises(NeuroscapeError, match="unknown model"):
        show("no-such-model-xyz", interactive=False)
    with pytest.raises(NotebookError, match="cannot show an object of type int"):
        show(42, interactive=False)
    with pytest.raises(NotebookError, match="example inputs"):
        show(small_model(), interactive=False)
    with pytest.raises(NotebookError, match="live=True"):
        show(small_model(), input=torch.randn(1, 16), live=True, interactive=False)
    with pytest.raises(NotebookError, match="input spec"):
        show("mlp", input=torch.randn(1, 64), interactive=False)
    with pytest.raises(NotebookError, match="interactive"):
        show("mlp", interactive="yes")


def test_interactive_without_widgets_says_what_to_install(monkeypatch):
    import engine.notebook as nb
    monkeypatch.setattr(nb, "widgets_available", lambda: False)
    with pytest.raises(NotebookError, match=r"neuroscape\[notebook\]"):
        show("mlp", interactive=True)


def test_picture_fallback_is_a_png_of_the_size():
    from IPython.display import Image
    from PIL import Image as PILImage
    got = show(small_model(), input=torch.randn(1, 16), size=(W, H))     # outside a kernel: a picture
    assert isinstance(got, Image)
    img = np.asarray(PILImage.open(io.BytesIO(got.data)))
    assert img.shape[:2] == (H, W) and img.std() > 5


def test_engine_show_is_the_public_entry():
    import engine
    assert "show" in engine.__all__
    got = engine.show(small_model(), input=torch.randn(1, 16), size=(W, H), interactive=False)
    assert got.data[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.slow
def test_live_fallback_is_an_mp4():
    from IPython.display import Video
    got = show("digits-cnn", input="digits", live=True, size=(161, 121), interactive=False)
    assert isinstance(got, Video) and got.embed
    assert b"ftyp" in got.data[:64]


# ---------------------------------------------------------------- the widget
def test_widget_draws_the_view_and_takes_events(view):
    pytest.importorskip("jupyter_rfb")
    from engine.app.notebook_widget import NotebookWidget
    w = NotebookWidget(view)
    assert (w.css_width, w.css_height) == (f"{W}px", f"{H}px") and w.has_titlebar
    before = w.get_frame()
    for kind, x in (("pointer_down", 100), ("pointer_move", 180), ("pointer_up", 180)):
        w.handle_event({"type": kind, "event_type": kind, "x": x, "y": H / 2, "button": 1, "modifiers": ()})
    assert changed(before, w.get_frame()) > 0.05
    x, y = on_layer(view)
    for kind in ("pointer_down", "pointer_up"):
        w.handle_event({"type": kind, "x": x, "y": y, "button": 1, "modifiers": ()})
    assert view.scene.slabs[0].name in w.title and w.status == w.title
    bundle = w._repr_mimebundle_()
    data = bundle[0] if isinstance(bundle, tuple) else bundle
    assert "application/vnd.jupyter.widget-view+json" in data and data["image/png"].startswith("iVBOR")
    w.close()
    assert view.context is None and w.get_frame() is None
