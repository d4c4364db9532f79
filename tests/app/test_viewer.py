"""The real viewer in a fullscreen window under Xvfb, driven by xdotool like a user."""
import os
import subprocess
import sys
import time

import numpy as np
import pytest
from PIL import Image

from tests.xdisplay import needs_display, virtual_display, wait_for, wait_for_window, window_ids, xdo

pytestmark = needs_display

SCREEN = (800, 600)


@pytest.fixture(scope="module")
def xvfb():
    with virtual_display(SCREEN) as env:
        yield env


def test_fullscreen_viewer_flies_and_writes_screenshots(xvfb, tmp_path):
    env = dict(xvfb, PYTHONUNBUFFERED="1")
    proc = subprocess.Popen([sys.executable, "-m", "engine.cli", "view", "cnn", "--screenshot-dir", str(tmp_path),
                             "--max-seconds", "120"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        assert wait_for_window(env, proc), proc.stderr.read() if proc.poll() is not None else "no window"
        wid = window_ids(env)[0]
        geo = subprocess.run(["xdotool", "getwindowgeometry", wid], env=env, capture_output=True, text=True).stdout
        assert f"{SCREEN[0]}x{SCREEN[1]}" in geo, geo          # fullscreen: covers the whole screen
        xdo(env, "mousemove", "400", "300")
        time.sleep(1.0)

        def shots():
            return sorted(tmp_path.glob("*.png"))

        xdo(env, "key", "p")
        assert wait_for(lambda: len(shots()) >= 1, 30), "P wrote no screenshot"
        xdo(env, "keydown", "w")
        time.sleep(1.5)
        xdo(env, "keyup", "w")
        xdo(env, "mousedown", "1")
        for x in range(400, 520, 10):
            xdo(env, "mousemove", str(x), "320")
        xdo(env, "mouseup", "1")
        time.sleep(0.5)
        xdo(env, "key", "p")
        assert wait_for(lambda: len(shots()) >= 2, 30), "second screenshot missing"
        time.sleep(0.3)
        a, b = (np.asarray(Image.open(p).convert("RGB"), dtype=np.int16) for p in shots()[:2])
        assert a.shape == (SCREEN[1], SCREEN[0], 3)
        bg = a[0, -1]
        assert (np.abs(a - bg).sum(axis=2) > 30).mean() > 0.02, "first frame shows no network"
        assert np.abs(a - b).mean() > 2.0, "flying and looking did not change the picture"
        xdo(env, "key", "Escape")
        assert proc.wait(30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
        out, err = proc.communicate()
    assert "screenshot:" in out


def test_view_without_display_is_a_clear_error(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    r = subprocess.run([sys.executable, "-m", "engine.cli", "view", "mlp"], env=env, capture_output=True,
                       text=True, timeout=300)
    assert r.returncode == 2
    assert "no display" in r.stderr and "neuroscape render" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_live_viewer_updates_activations_without_moving(xvfb, tmp_path):
    env = dict(xvfb, PYTHONUNBUFFERED="1")
    proc = subprocess.Popen([sys.executable, "-m", "engine.cli", "view", "cnn", "--input", "digits", "--live",
                             "--screenshot-dir", str(tmp_path), "--max-seconds", "120"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert wait_for_window(env, proc), proc.stderr.read() if proc.poll() is not None else "no window"
        xdo(env, "mousemove", "400", "300")
        time.sleep(1.0)
        shots = lambda: sorted(tmp_path.glob("*.png"))  # noqa: E731
        xdo(env, "key", "p")
        assert wait_for(lambda: len(shots()) >= 1, 30)
        time.sleep(2.5)                                  # digits cycle every 30 frames; noise drifts
        xdo(env, "key", "p")
        assert wait_for(lambda: len(shots()) >= 2, 30)
        time.sleep(0.3)
        a, b = (np.asarray(Image.open(p).convert("RGB"), dtype=np.int16) for p in shots()[:2])
        assert np.abs(a - b).mean() > 0.5, "live activations did not change the picture"
        xdo(env, "key", "Escape")
        assert proc.wait(30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate()


@needs_display[0]
@needs_display[1]
def test_viewer_keys_k_and_j_write_a_camera_path(tmp_path):
    out = tmp_path / "keys.toml"
    with virtual_display((640, 480), base=150) as env:
        _keys_k_and_j(env, out)


def _keys_k_and_j(env, out):
    proc = None
    try:
        proc = subprocess.Popen([sys.executable, "-m", "engine.cli", "view", "mlp", "--path-out", str(out),
                                 "--max-seconds", "120"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True)
        assert wait_for_window(env, proc), "no window"
        time.sleep(1.0)
        xdo(env, "key", "k")
        xdo(env, "keydown", "w")
        time.sleep(1.0)
        xdo(env, "keyup", "w")
        xdo(env, "key", "k")
        xdo(env, "key", "j")
        assert wait_for(out.exists, 30), "J wrote no scene file"
        xdo(env, "key", "Escape")
        assert proc.wait(30) == 0
    finally:
        if proc is not None and proc.poll() is None:
            proc.kill()
    from engine.scenefile import load_scene_file
    spec = load_scene_file(out)
    assert spec.model == "mlp" and len(spec.camera_path) == 2
    p0, p1 = (np.array(e["position"]) for e in spec.camera_path)
    assert np.linalg.norm(p1 - p0) > 0.01               # W moved the camera between the keyframes
    assert "camera path:" in proc.communicate()[0]


HIGHLIGHT = np.array([255, 230, 38])           # engine/colormaps/palette.HIGHLIGHT_POSITIVE, 8 bit


def _shoot(env, folder, message, seconds: float = 90):
    """Press P until a new screenshot is in ``folder`` (a key press sent while the window is still being
    mapped can be lost); returns it, complete (written under another name, then renamed)."""
    shots = lambda: sorted(p for p in folder.glob("*.png") if not p.name.endswith(".partial.png"))  # noqa: E731
    before = len(shots())
    deadline = time.time() + seconds
    while time.time() < deadline:                          # (a loaded machine: minutes)
        xdo(env, "key", "p")
        if wait_for(lambda: len(shots()) > before, 30):
            return shots()[before]
    raise AssertionError(message)


def _two_shots(env, tmp_path, args, between):
    """Run the viewer, screenshot, do ``between()``, screenshot again; returns both images."""
    proc = subprocess.Popen([sys.executable, "-m", "engine.cli", "view", *args, "--screenshot-dir", str(tmp_path),
                             "--max-seconds", "120"], env=dict(env, PYTHONUNBUFFERED="1"),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert wait_for_window(env, proc), proc.stderr.read() if proc.poll() is not None else "no window"
        xdo(env, "mousemove", "400", "300")
        first = _shoot(env, tmp_path, "no first screenshot")
        between()
        second = _shoot(env, tmp_path, "no second screenshot")
        images = [np.asarray(Image.open(p).convert("RGB"), dtype=np.int16) for p in (first, second)]
        xdo(env, "key", "Escape")
        assert proc.wait(30) == 0
        return images
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate()


def test_viewer_generates_token_by_token(xvfb, tmp_path):
    a, b = _two_shots(xvfb, tmp_path, ["pydoc-gpt", "--generate", "30", "--input", "text:A list is"],
                      lambda: time.sleep(4.0))
    assert np.abs(a[60:140, :500] - b[60:140, :500]).mean() > 0.3, "the generated text did not move on"


def test_viewer_r_draws_the_attention_rollout(xvfb, tmp_path):
    def press_r():
        time.sleep(0.5)
        xdo(xvfb, "key", "r")
        time.sleep(1.0)
    a, b = _two_shots(xvfb, tmp_path, ["minilm", "--input", "text:the cat sat on the mat"], press_r)
    lit = lambda img: int((np.abs(img[80:] - HIGHLIGHT).max(axis=2) < 40).sum())  # noqa: E731
    assert lit(a) == 0 and lit(b) > 50, "R drew no rollout lines"


def test_viewer_explain_draws_attributions_and_names_the_output(xvfb, tmp_path):
    """``view cnn --explain gxi --target 3``: the same network in other colours (attribution
    magnitudes instead of activations), and the HUD's extra lines (output explained, top-5)."""
    plain = _two_shots(xvfb, tmp_path / "a", ["cnn", "--windowed", "--size", "800x600"], lambda: None)[0]
    why = _two_shots(xvfb, tmp_path / "b", ["cnn", "--windowed", "--size", "800x600", "--explain", "gxi",
                                            "--target", "3"], lambda: None)[0]
    assert plain.shape == why.shape
    body = (slice(200, None), slice(None))                  # below the HUD: the network itself
    assert np.abs(plain[body] - why[body]).mean() > 2.0, "attributions look like activations"
    hud = (slice(0, 200), slice(0, 500))
    assert (np.abs(why[hud] - plain[hud]).sum(axis=2) > 60).sum() > 200, "no explanation lines in the HUD"


def test_viewer_x_cycles_to_an_attribution_and_back(xvfb, tmp_path):
    """X: activations -> saliency (computed in a thread, then drawn) -> ... ; the picture changes."""
    def press_x():
        time.sleep(0.5)
        xdo(xvfb, "key", "x")
        time.sleep(3.0)
    a, b = _two_shots(xvfb, tmp_path, ["cnn", "--windowed", "--size", "800x600"], press_x)
    body = (slice(200, None), slice(None))
    assert np.abs(a[body] - b[body]).mean() > 2.0, "X did not draw an attribution"


def test_embed_view_clicking_a_point_makes_it_the_input(xvfb, tmp_path):
    """`embed ... --view`: the cloud beside its layer; a click on a point prints which item it is and
    makes it the network's input."""
    proc = subprocess.Popen([sys.executable, "-m", "engine.cli", "embed", "cnn", "--input", "digits", "--layer",
                             "classifier.2", "--limit", "400", "--view", "--size", "800x600", "--max-seconds", "120"],
                            env=dict(xvfb, PYTHONUNBUFFERED="1"), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        assert wait_for_window(xvfb, proc), proc.stderr.read() if proc.poll() is not None else "no window"
        time.sleep(1.0)
        for x, y in ((400, 300), (390, 310), (410, 290), (380, 300), (420, 300), (400, 320), (400, 280)):
            xdo(xvfb, "mousemove", str(x), str(y))
            xdo(xvfb, "click", "1")
            time.sleep(0.3)
        time.sleep(0.5)
        xdo(xvfb, "key", "Escape")
        assert proc.wait(30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
        out, err = proc.communicate()
    assert "input: classifier.2 (pca): digits #" in out, (out, err[-2000:])


def test_viewer_steps_through_a_checkpoint_timeline(xvfb, tmp_path):
    """`view mlp --compare-weights FOLDER`: , steps back a checkpoint and the network's colours change."""
    import torch
    from safetensors.torch import save_file

    from engine.model.registry import load_model
    model = load_model("mlp")[0]
    ckpts = tmp_path / "ckpts"
    ckpts.mkdir()
    for step in range(3):
        torch.manual_seed(step)
        save_file({k: v + 0.3 * step * torch.randn_like(v) for k, v in model.state_dict().items()},
                  str(ckpts / f"step_{step}.safetensors"))

    def back():
        time.sleep(0.5)
        xdo(xvfb, "key", "comma")
        time.sleep(1.0)
    a, b = _two_shots(xvfb, tmp_path / "shots", ["mlp", "--windowed", "--size", "800x600", "--compare-weights",
                                                 str(ckpts)], back)
    changed = int((np.abs(a[330:] - b[330:]).sum(axis=2) > 30).sum())      # below the HUD
    assert changed > 500, f", did not step the timeline ({changed} pixels changed)"


def test_viewer_h_flies_home_after_flying_away(xvfb, tmp_path):
    """Fly forward for a while (the picture changes), then H: back at the overview it opened with."""
    proc = subprocess.Popen([sys.executable, "-m", "engine.cli", "view", "mlp", "--windowed", "--size", "800x600",
                             "--screenshot-dir", str(tmp_path), "--max-seconds", "120"],
                            env=dict(xvfb, PYTHONUNBUFFERED="1"), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        assert wait_for_window(xvfb, proc), proc.stderr.read() if proc.poll() is not None else "no window"
        xdo(xvfb, "mousemove", "400", "300")
        first = _shoot(xvfb, tmp_path, "no first screenshot")
        xdo(xvfb, "keydown", "w")
        time.sleep(1.5)
        xdo(xvfb, "keyup", "w")
        second = _shoot(xvfb, tmp_path, "no screenshot away from home")
        xdo(xvfb, "key", "h")
        time.sleep(3.0)                            # the flight home takes 0.8 s (slow frames: a few more)
        third = _shoot(xvfb, tmp_path, "no screenshot at home")
        start, away, home = (np.asarray(Image.open(p).convert("RGB"), dtype=np.int16)[260:]
                             for p in (first, second, third))
        xdo(xvfb, "key", "Escape")
        assert proc.wait(30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate()
    # (below the HUD panel) flying away changed the picture; home is the picture it opened with
    assert np.abs(away - start).mean() > 3 * np.abs(home - start).mean()
    assert np.abs(home - start).mean() < 2.0


def test_overview_strip_shows_where_you_are_and_a_click_flies_there(xvfb, tmp_path):
    """The strip bottom left: coloured bars, a white mark; a click on the last bar flies to the output
    layer (the picture changes, the mark moves right); V hides the strip."""
    from engine.colormaps.palette import STRIP_HERE
    from engine.pipeline import build
    from engine.scene.overview import OverviewStrip
    from engine.scenefile import resolve_spec
    strip = OverviewStrip(build(resolve_spec("cnn"))[1])
    x0, y0, x1, y1 = strip.rect(SCREEN)
    white = (np.array(STRIP_HERE) * 255).astype(int)

    def mark(img):                      # columns of the white mark under the bars
        return np.nonzero((np.abs(img[y1 - 5, x0:x1] - white).sum(axis=1) < 40))[0]

    def click_last_bar():
        xdo(xvfb, "mousemove", str(x1 - 6), str((y0 + y1) // 2), "click", "1")
        time.sleep(3.0)                  # the flight takes 0.8 s (slow frames: a few more)

    a, b = _two_shots(xvfb, tmp_path, ["cnn", "--windowed", "--size", f"{SCREEN[0]}x{SCREEN[1]}"], click_last_bar)
    strip_box = a[y0:y1, x0:x1]
    assert (strip_box.max(axis=2) > 120).mean() > 0.2, "no bars in the strip"
    before, after = mark(a), mark(b)
    assert len(before) and len(after) and after.mean() > before.mean() + (x1 - x0) / 3, (before, after)
    assert np.abs(a[:y0 - 10] - b[:y0 - 10]).mean() > 3, "the click on the strip did not fly"

    def hide():
        xdo(xvfb, "key", "v")
        time.sleep(1.0)

    c, d = _two_shots(xvfb, tmp_path / "v", ["cnn", "--windowed", "--size", f"{SCREEN[0]}x{SCREEN[1]}"], hide)
    assert len(mark(c)) and not len(mark(d)), "V did not hide the strip"


def test_f1_hides_and_shows_the_key_hints(xvfb, tmp_path):
    """An 800x600 window opens with the key hints at the bottom of the HUD; F1 takes them away (the
    HUD panel gets shorter: fewer rows of text), F1 again brings them back."""
    def text_rows(img):                  # rows of the HUD's left part with light text on them
        band = img[:260, 14:700]
        return int(((band.max(axis=2) > 170).sum(axis=1) > 3).sum())

    shots = []

    def toggle():
        xdo(xvfb, "key", "F1")
        time.sleep(1.0)
        shots.append(_shoot(xvfb, tmp_path, "no screenshot after F1"))
        xdo(xvfb, "key", "F1")
        time.sleep(1.0)

    shown, again = _two_shots(xvfb, tmp_path, ["mlp", "--windowed", "--size", "800x600"], toggle)
    hidden = np.asarray(Image.open(shots[0]).convert("RGB"), dtype=np.int16)
    assert text_rows(hidden) < text_rows(shown) - 12, (text_rows(hidden), text_rows(shown))
    assert text_rows(again) > text_rows(hidden) + 12           # (plus the "saved" notice of a screenshot)
