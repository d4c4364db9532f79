"""`neuroscape playground` in a real window under Xvfb: it trains, keys change parameters, P saves a frame."""
import os
import shutil
import subprocess
import sys
import time

import numpy as np
import pytest
from PIL import Image

pytestmark = [pytest.mark.display, pytest.mark.skipif(
    not (shutil.which("Xvfb") and shutil.which("xdotool")), reason="needs Xvfb and xdotool (scripts/setup.sh)")]


def wait_for(pred, timeout=60.0, step=0.1):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(step)
    return False


def test_playground_window_trains_and_takes_keys(tmp_path):
    display = f":{140 + os.getpid() % 50}"
    xvfb = subprocess.Popen(["Xvfb", display, "-screen", "0", "800x600x24", "-nolisten", "tcp"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    env = dict(os.environ, DISPLAY=display, PYTHONUNBUFFERED="1")
    proc = None
    try:
        assert wait_for(lambda: subprocess.run(["xdotool", "getmouselocation"], env=env,
                                               capture_output=True).returncode == 0, 10)
        proc = subprocess.Popen([sys.executable, "-m", "engine.cli", "playground", "--dataset", "xor", "--layers", "4",
                                 "--resolution", "128", "--windowed", "--size", "640x480", "--screenshot-dir",
                                 str(tmp_path), "--max-seconds", "60"], env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)

        def window():
            r = subprocess.run(["xdotool", "search", "--name", "Neuroscape"], env=env, capture_output=True, text=True)
            return r.stdout.split()[0] if r.returncode == 0 and r.stdout.split() else None

        assert wait_for(lambda: window() is not None or proc.poll() is not None, 60) and proc.poll() is None, \
            proc.stderr.read() if proc.poll() is not None else "no window"
        wid = window()
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
        xvfb.terminate()
        xvfb.wait(5)
