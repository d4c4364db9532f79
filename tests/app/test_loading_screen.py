"""The window opens at once and shows the loading's progress (not black) until the scene is up; Esc
while loading quits at once. A user module that takes seconds to build stands for a big model."""
import subprocess
import sys
import time

import numpy as np
from PIL import Image

from engine.app.loading import bar_line
from tests.xdisplay import needs_display, virtual_display, wait_for, window_ids, xdo

SCREEN = (800, 600)
SLOW = """import time, torch
def build():
    time.sleep({seconds})
    return torch.nn.Sequential(torch.nn.Linear(64, 128), torch.nn.ReLU(), torch.nn.Linear(128, 10)), torch.randn(1, 64)
"""


def test_bar_fills_with_the_stages():
    assert bar_line(0, 4, 0.0).count("#") == 0
    assert bar_line(2, 4, 0.0).count("#") == 14
    assert bar_line(4, 4, 0.0) == "[" + "#" * 28 + "]"
    assert bar_line(1, 4, 0.0) != bar_line(1, 4, 1.0)          # a long stage visibly lives
    assert len({len(bar_line(d, 4, t)) for d in range(6) for t in (0.0, 0.6, 1.3)}) == 1


def _grab(env) -> np.ndarray:
    r = subprocess.run(["ffmpeg", "-loglevel", "error", "-f", "x11grab", "-video_size", f"{SCREEN[0]}x{SCREEN[1]}",
                        "-i", env["DISPLAY"], "-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
                       env=env, capture_output=True, timeout=30)
    assert r.returncode == 0, r.stderr.decode()
    return np.frombuffer(r.stdout, np.uint8).reshape(SCREEN[1], SCREEN[0], 3).astype(np.int16)


def _start(env, tmp_path, seconds, *extra):
    """The viewer on a module in ``tmp_path`` (the current folder) whose build sleeps ``seconds``."""
    (tmp_path / "slowmod.py").write_text(SLOW.format(seconds=seconds))
    return subprocess.Popen([sys.executable, "-m", "engine.cli", "view", "slowmod:build", "--windowed", "--size",
                             f"{SCREEN[0]}x{SCREEN[1]}", "--screenshot-dir", str(tmp_path), *extra],
                            cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def windowed(test):
    for mark in needs_display:
        test = mark(test)
    return test


@windowed
def test_window_shows_progress_while_loading_then_the_scene(tmp_path):
    with virtual_display(SCREEN) as env:
        proc = _start(env, tmp_path, 8, "--max-seconds", "60")
        try:
            assert wait_for(lambda: bool(window_ids(env, "Loading slowmod")) or proc.poll() is not None, 60), \
                "no loading window"
            assert proc.poll() is None, proc.communicate()[1]
            middle = (slice(200, 400), slice(200, 600))
            text = lambda img: int((img[middle].max(axis=2) > 150).sum())      # noqa: E731 - light text
            shown = []
            assert wait_for(lambda: shown.append(_grab(env)) or text(shown[-1]) > 300, 60, 0.5), \
                f"the loading screen shows no text in the middle ({text(shown[-1])} bright pixels)"
            a = shown[-1]
            time.sleep(1.5)
            b = _grab(env)
            assert (a > 150).any(axis=2)[:150].sum() == 0, "text outside the middle panel"
            assert (np.abs(a - b).max(axis=2) > 60).sum() > 10, "the loading screen did not update (elapsed time)"
            assert not window_ids(env, "Neuroscape - "), "titled as the scene before it loaded"
            # then the scene: the window takes the scene's title and draws it
            assert wait_for(lambda: bool(window_ids(env, "Neuroscape - ")), 90), "the scene never came up"
            xdo(env, "mousemove", "400", "300")
            shots = lambda: sorted(p for p in tmp_path.glob("*.png") if not p.name.endswith(".partial.png"))  # noqa
            deadline = time.time() + 90
            while not shots() and time.time() < deadline:
                xdo(env, "key", "p")
                wait_for(lambda: bool(shots()), 20)
            assert shots(), "no screenshot of the scene"
            time.sleep(0.3)
            scene = np.asarray(Image.open(shots()[0]).convert("RGB"), dtype=np.int16)
            assert np.abs(scene[250:] - a[250:]).mean() > 1.0, "the scene looks like the loading screen"
            xdo(env, "key", "Escape")
            assert proc.wait(30) == 0
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.communicate()


@windowed
def test_esc_while_loading_quits_at_once(tmp_path):
    with virtual_display(SCREEN) as env:
        proc = _start(env, tmp_path, 60)
        try:
            assert wait_for(lambda: bool(window_ids(env, "Loading slowmod")) or proc.poll() is not None, 60), \
                "no loading window"
            time.sleep(1.0)
            t0 = time.monotonic()
            deadline = t0 + 20
            while proc.poll() is None and time.monotonic() < deadline:
                xdo(env, "key", "Escape")
                wait_for(lambda: proc.poll() is not None, 2)
            assert proc.poll() is not None, "Esc did not quit while loading"
            assert time.monotonic() - t0 < 15          # not after the 60 s build
            out, err = proc.communicate()
            assert proc.returncode == 0
            assert "closed while loading slowmod:build" in err
            assert "Traceback" not in err
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
