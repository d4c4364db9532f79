"""A virtual X display (Xvfb) and xdotool helpers shared by the real-window tests."""
import contextlib
import os
import shutil
import subprocess
import time

import pytest

needs_display = [pytest.mark.display, pytest.mark.skipif(
    not (shutil.which("Xvfb") and shutil.which("xdotool")), reason="needs Xvfb and xdotool (scripts/setup.sh)")]


def wait_for(pred, timeout=60.0, step=0.1):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(step)
    return False


def xdo(env, *args):
    subprocess.run(["xdotool", *args], env=env, check=True, capture_output=True, timeout=10)


def window_ids(env, name="Neuroscape"):
    r = subprocess.run(["xdotool", "search", "--name", name], env=env, capture_output=True, text=True)
    return r.stdout.split() if r.returncode == 0 else []


def wait_for_window(env, proc, timeout=60.0):
    """True once a Neuroscape window exists; False if the process died or time ran out."""
    return wait_for(lambda: bool(window_ids(env)) or proc.poll() is not None, timeout) and proc.poll() is None


@contextlib.contextmanager
def virtual_display(size=(800, 600), base=90):
    """Start Xvfb on a display number it picks itself (-displayfd: never one in use or with a stale
    lock) and -noreset (no server reset when the last window closes); yield an environment whose
    DISPLAY points at it. ``base`` is kept for callers; Xvfb chooses the number."""
    r, w = os.pipe()
    proc = subprocess.Popen(["Xvfb", "-displayfd", str(w), "-screen", "0", f"{size[0]}x{size[1]}x24",
                             "-nolisten", "tcp", "-noreset"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            pass_fds=(w,))
    os.close(w)
    with os.fdopen(r) as f:
        number = f.readline().strip()
    if not number:
        proc.kill()
        pytest.fail("Xvfb did not start (no display number)")
    env = dict(os.environ, DISPLAY=f":{number}", PYTHONUNBUFFERED="1")
    try:
        ok = wait_for(lambda: subprocess.run(["xdotool", "getmouselocation"], env=env,
                                             capture_output=True).returncode == 0, 10)
        if not ok:
            pytest.fail("Xvfb did not start")
        yield env
    finally:
        proc.terminate()
        proc.wait(5)
