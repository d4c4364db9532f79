"""`neuroscape playground` in a real window under Xvfb: it trains, keys change parameters, P saves a frame."""
import subprocess
import sys
import time

import numpy as np
from PIL import Image

from tests.xdisplay import needs_display, virtual_display, wait_for, wait_for_window, window_ids

pytestmark = needs_display


def test_playground_window_trains_and_takes_keys(tmp_path):
    with virtual_display((800, 600), base=140) as env:
        _run_playground(env, tmp_path)


def _run_playground(env, tmp_path):
    proc = None
    try:
        proc = subprocess.Popen([sys.executable, "-m", "engine.cli", "playground", "--dataset", "xor", "--layers", "4",
                                 "--resolution", "128", "--windowed", "--size", "640x480", "--screenshot-dir",
                                 str(tmp_path), "--max-seconds", "60"], env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        assert wait_for_window(env, proc), proc.stderr.read() if proc.poll() is not None else "no window"
        wid = window_ids(env)[0]
        subprocess.run(["xdotool", "windowactivate", "--sync", wid], env=env, capture_output=True, timeout=10)
        subprocess.run(["xdotool", "mousemove", "--window", wid, "250", "260"], env=env, check=True, timeout=10)
        for key in ("bracketright", "y", "f"):
            subprocess.run(["xdotool", "key", "--window", wid, key], env=env, check=True, timeout=10)
            time.sleep(0.3)
        time.sleep(1.0)
        subprocess.run(["xdotool", "key", "--window", wid, "p"], env=env, check=True, timeout=10)
        assert wait_for(lambda: len(list(tmp_path.glob("*.png"))) >= 1, 40), "P wrote no screenshot"
        time.sleep(0.5)
        img = np.asarray(Image.open(sorted(tmp_path.glob("*.png"))[0]).convert("RGB"))
        assert img.shape[0] > 100 and img.std() > 10          # a drawn frame, not a blank window
        subprocess.run(["xdotool", "key", "--window", wid, "Escape"], env=env, timeout=10)
        assert proc.wait(30) == 0, proc.stderr.read()
    finally:
        if proc is not None and proc.poll() is None:
            proc.kill()


def test_view_opens_a_playground_scene_and_playground_takes_the_file(tmp_path):
    """One way to open anything: `view scenes/playground_circles.toml` opens the playground's window
    (it trains: the screenshot has the field), `playground FILE --lr X` puts the option on the file's."""
    from engine.app.playground_cli import config_of, playground_parser, scene_table
    table, base = scene_table("scenes/playground_circles.toml")
    args = playground_parser().parse_args(["scenes/playground_circles.toml", "--lr", "0.1"])
    cfg = config_of(args, table, base)
    assert cfg.dataset == "circles" and cfg.lr == 0.1 and cfg.layers == [8, 8]
    with virtual_display((800, 600), base=145) as env:
        proc = subprocess.Popen([sys.executable, "-m", "engine.cli", "view", "scenes/playground_circles.toml",
                                 "--windowed", "--size", "640x480", "--screenshot-dir", str(tmp_path),
                                 "--max-seconds", "60"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True)
        try:
            assert wait_for_window(env, proc), proc.stderr.read() if proc.poll() is not None else "no window"
            wid = window_ids(env)[0]
            time.sleep(1.0)
            subprocess.run(["xdotool", "key", "--window", wid, "p"], env=env, check=True, timeout=10)
            assert wait_for(lambda: len(list(tmp_path.glob("playground-*.png"))) >= 1, 40), "no screenshot"
            time.sleep(0.5)
            img = np.asarray(Image.open(sorted(tmp_path.glob("*.png"))[0]).convert("RGB"))
            assert img.std() > 10
            subprocess.run(["xdotool", "key", "--window", wid, "Escape"], env=env, timeout=10)
            assert proc.wait(30) == 0, proc.stderr.read()
        finally:
            if proc.poll() is None:
                proc.kill()
