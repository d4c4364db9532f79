"""The command line end to end: one-line errors with exit code 2, and the happy paths."""
import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image


def run(*args, env=None, timeout=600):
    e = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    e.update(env or {})
    return subprocess.run([sys.executable, "-m", "engine.cli", *args], capture_output=True, text=True,
                          timeout=timeout, env=e)


def one_line_error(r, *needles):
    assert r.returncode == 2, (r.returncode, r.stderr)
    err = r.stderr.strip()
    assert err.startswith("neuroscape: error: ") and "\n" not in err, err
    for n in needles:
        assert n in err, err
    assert "Traceback" not in r.stderr


def test_help_lists_commands():
    r = run("--help")
    assert r.returncode == 0
    for cmd in ("view", "render", "record", "inspect"):
        assert cmd in r.stdout


def test_bad_size_is_rejected():
    r = run("render", "mlp", "-o", "x.png", "--size", "big")
    assert r.returncode == 2 and "WIDTHxHEIGHT" in r.stderr
    one_line_error(r, "WIDTHxHEIGHT")


@pytest.mark.parametrize("args, needle", [
    (("record", "mlp", "--fps", "x"), "`neuroscape record --help`"),
    (("render", "mlp", "-o", "x.png", "--bogus"), "unrecognized arguments: --bogus"),
    (("frobnicate",), "invalid choice"),
])
def test_argument_errors_are_one_line(args, needle):
    """argparse's own errors too: one line naming the flag and where the help is, no usage block."""
    one_line_error(run(*args), needle)


@pytest.mark.slow
@pytest.mark.parametrize("args, needle", [
    (("inspect", "cnn", "--input-shape", "1x3x1000000x1000000"), "the input alone needs 12,000.0 GB"),
    (("inspect", "cnn", "--input-shape", "1x99999999999999999999"), "more than a tensor dimension can hold"),
])
def test_input_shapes_beyond_memory_are_one_line(args, needle):
    one_line_error(run(*args), needle)


@pytest.mark.slow
def test_fps_zero_is_refused_not_replaced(tmp_path):
    one_line_error(run("record", "mlp", "--fps", "0", "-o", str(tmp_path / "f.mp4")), "--fps 0")
    one_line_error(run("record", "scenes/playground_circles.toml", "--fps", "0", "-o", str(tmp_path / "p.mp4")),
                   "--fps 0")


@pytest.mark.parametrize("duration", ["inf", "nan", "1e12", "0"])
def test_record_durations_out_of_range_are_one_line(tmp_path, duration):
    one_line_error(run("record", "mlp", "--duration", duration, "-o", str(tmp_path / "d.mp4")), "--duration")
    assert not (tmp_path / "d.mp4").exists()


def test_bad_scene_file(tmp_path):
    p = tmp_path / "s.toml"
    p.write_text('[model]\nname = "mlp"\n[look]\nshow_edges = maybe\n')
    one_line_error(run("inspect", str(p)), "s.toml", "invalid TOML", "line 4")


@pytest.mark.slow
def test_unknown_model():
    one_line_error(run("inspect", "resnet5O"), "resnet5O")


@pytest.mark.slow
def test_module_that_fails_to_import(tmp_path):
    (tmp_path / "brokenmod.py").write_text("import torch\nthis is not python\n")
    one_line_error(run("inspect", "brokenmod:make", env={"PYTHONPATH": str(tmp_path)}), "brokenmod")


@pytest.mark.slow
@pytest.mark.parametrize("code, needle", [("import sys\nsys.exit(3)\n", "called sys.exit(3)"),
                                          ("import sys\ndef make():\n    sys.exit(0)\n", "make() called sys.exit(0)")])
def test_module_that_exits_is_a_clear_error_not_its_exit(tmp_path, code, needle):
    """A module calling sys.exit while importing or building (a script without a main guard) was a
    silent exit with its code; now one line naming it."""
    (tmp_path / "exitmod.py").write_text(code)
    one_line_error(run("inspect", "exitmod:make", env={"PYTHONPATH": str(tmp_path)}), needle)


@pytest.mark.slow
def test_module_that_fails_to_run(tmp_path):
    (tmp_path / "badrun.py").write_text(
        "import torch\nclass M(torch.nn.Module):\n    def forward(self, x):\n        raise RuntimeError('boom')\n"
        "def make():\n    return M(), torch.randn(1, 4)\n")
    one_line_error(run("inspect", "badrun:make", env={"PYTHONPATH": str(tmp_path)}), "boom")


@pytest.mark.slow
def test_corrupt_weights(tmp_path):
    w = tmp_path / "w.safetensors"
    w.write_bytes(b"\x00garbage" * 10)
    one_line_error(run("inspect", "mlp", "--weights", str(w)), "w.safetensors")


@pytest.mark.slow
def test_pickled_weights_are_refused(tmp_path):
    import pickle
    w = tmp_path / "evil.pt"

    class Evil:
        def __reduce__(self):
            return (os.system, ("echo pwned",))
    w.write_bytes(pickle.dumps(Evil()))
    r = run("inspect", "mlp", "--weights", str(w))
    one_line_error(r, "evil.pt")
    assert "pwned" not in r.stdout


@pytest.mark.slow
def test_render_refuses_to_overwrite(tmp_path):
    out = tmp_path / "f.png"
    out.write_bytes(b"keep")
    one_line_error(run("render", "mlp", "-o", str(out)), "--force")
    assert out.read_bytes() == b"keep"


@pytest.mark.slow
def test_inspect_prints_layer_table():
    r = run("inspect", "cnn")
    assert r.returncode == 0, r.stderr
    assert "conv" in r.stdout and "output shape" in r.stdout and "neurons" in r.stdout


@pytest.mark.slow
def test_render_writes_a_picture_of_the_network(tmp_path):
    out = tmp_path / "cnn.png"
    r = run("render", "cnn", "-o", str(out), "--size", "640x360")
    assert r.returncode == 0, r.stderr
    img = np.asarray(Image.open(out).convert("RGB"), dtype=np.int16)
    assert img.shape == (360, 640, 3)
    bg = img[0, 0]
    assert (np.abs(img - bg).sum(axis=2) > 30).mean() > 0.02


def decode(path):
    import imageio_ffmpeg
    gen = imageio_ffmpeg.read_frames(str(path))
    meta = next(gen)
    return meta, [np.frombuffer(f, np.uint8).reshape(meta["size"][1], meta["size"][0], 3) for f in gen]


@pytest.mark.slow
def test_record_without_display_writes_a_playable_video(tmp_path):
    out = tmp_path / "v.mp4"
    r = run("record", "mlp", "-o", str(out), "--duration", "1", "--fps", "10", "--size", "320x240")
    assert r.returncode == 0, r.stderr
    meta, frames = decode(out)
    assert tuple(meta["size"]) == (320, 240) and len(frames) == 10 and meta["fps"] == 10
    assert np.abs(frames[0].astype(int) - frames[-1].astype(int)).mean() > 1  # the camera moved


@pytest.mark.slow
def test_render_follows_the_input(tmp_path):
    a, b = tmp_path / "a.png", tmp_path / "b.png"
    for out, inp in ((a, "digits"), (b, "photo")):
        r = run("render", "cnn", "--input", inp, "-o", str(out), "--size", "480x270")
        assert r.returncode == 0, r.stderr
    ia, ib = (np.asarray(Image.open(p).convert("RGB"), dtype=np.int16) for p in (a, b))
    assert np.abs(ia - ib).mean() > 1.0


@pytest.mark.slow
def test_bad_inputs_are_one_line_errors(tmp_path):
    one_line_error(run("render", "cnn", "--input", str(tmp_path / "missing.jpg"), "-o", str(tmp_path / "x.png")),
                   "missing.jpg")
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"not a png at all")
    one_line_error(run("render", "cnn", "--input", str(bad), "-o", str(tmp_path / "x.png")), "bad.png")
    one_line_error(run("render", "cnn", "--input", "text:hello", "-o", str(tmp_path / "x.png")), "language model")


@pytest.mark.slow
def test_live_recording_changes_activations_not_only_camera(tmp_path):
    out = tmp_path / "live.mp4"
    r = run("record", "mlp", "--input", "digits", "--live", "-o", str(out), "--duration", "1", "--fps", "8",
            "--size", "320x240")
    assert r.returncode == 0, r.stderr
    meta, frames = decode(out)
    assert len(frames) == 8


HIGHLIGHT = np.array([255, 230, 38])           # engine/colormaps/palette.HIGHLIGHT_POSITIVE, 8 bit


def highlight_pixels(img) -> int:
    return int((np.abs(img.astype(int) - HIGHLIGHT).max(axis=2) < 40).sum())


@pytest.mark.slow
def test_generate_renders_the_text_and_the_new_rows(tmp_path):
    """pydoc-gpt writes text from a prompt: the HUD shows it with the last token marked (highlight
    background top-left), the rows the last step wrote are outlined in the highlight colour, and a
    different prompt of the same length (the same layout) lights the network differently."""
    a, b = tmp_path / "a.png", tmp_path / "b.png"
    r = run("render", "pydoc-gpt", "--generate", "12", "--input", "text:The for loop runs", "-o", str(a),
            "--size", "640x360")
    assert r.returncode == 0, r.stderr
    img = np.asarray(Image.open(a).convert("RGB"))
    assert highlight_pixels(img[:80, :400]) > 20             # the marked token in the HUD panel
    assert highlight_pixels(img[80:]) > 50                   # outlines in the scene
    r = run("render", "pydoc-gpt", "--generate", "12", "--input", "text:A list is ordered", "-o", str(b),
            "--size", "640x360")
    assert r.returncode == 0, r.stderr
    other = np.asarray(Image.open(b).convert("RGB"))
    scene = np.abs(img[80:].astype(int) - img[80, 0].astype(int)).sum(axis=2) > 30      # not background
    assert scene.mean() > 0.05
    assert np.abs(img[80:].astype(int) - other[80:].astype(int)).sum(axis=2)[scene].mean() > 3   # same text: 0


@pytest.mark.slow
def test_generate_records_step_by_step(tmp_path):
    out = tmp_path / "gen.mp4"
    r = run("record", "pydoc-gpt", "--generate", "6", "--input", "text:Lists", "-o", str(out), "--fps", "8",
            "--size", "320x180")
    assert r.returncode == 0, r.stderr
    meta, frames = decode(out)
    assert len(frames) >= 8 * (0.3 * 7 + 1.5) - 1           # 0.3 s a token, then the whole text held
    hud = [f[:50, :200].astype(int) for f in frames]         # the text panel grows token by token
    assert np.abs(hud[0] - hud[len(hud) // 2]).mean() > 0.5 and np.abs(hud[len(hud) // 2] - hud[-1]).mean() > 0.5


@pytest.mark.slow
def test_generate_refuses_what_cannot_generate(tmp_path):
    png = str(tmp_path / "x.png")
    one_line_error(run("render", "cnn", "--generate", "4", "-o", png), "not a causal language model")
    one_line_error(run("render", "bert", "--generate", "4", "-o", png), "not a causal language model")
    one_line_error(run("render", "pydoc-gpt", "--generate", "300", "-o", png), "context of 256 tokens")
    one_line_error(run("render", "pydoc-gpt", "--generate", "4", "--temperature", "-1", "-o", png), "--temperature")
    one_line_error(run("render", "pydoc-gpt", "--generate", "-2", "-o", png), "--generate")


@pytest.mark.slow
def test_a_scene_bigger_than_the_far_plane_is_still_drawn(tmp_path):
    """texel = 6469693229 lays the network out far past the camera's default far plane (5000): the
    renderer moves its far plane out instead of clipping everything away (a blank picture)."""
    scene, out = tmp_path / "huge.toml", tmp_path / "huge.png"
    scene.write_text('[model]\nname = "mlp"\n[layout]\ntexel = 6469693229\n')
    r = run("render", str(scene), "-o", str(out), "--size", "320x180")
    assert r.returncode == 0, r.stderr
    img = np.asarray(Image.open(out).convert("RGB")).astype(int)
    assert (img.sum(axis=2) > 60).mean() > 0.05


FLAKY = '''
import torch
from torch import nn


class Flaky(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(8, 4)
        self.calls = 0

    def forward(self, x):
        self.calls += 1
        if self.calls > 20 and self.calls % 4 == 0:
            raise RuntimeError("flaky failure")
        return self.fc(x)


def make():
    return Flaky(), torch.randn(1, 8)
'''


@pytest.mark.slow
def test_a_model_failing_on_some_live_frames_is_counted_reported_and_not_success(tmp_path):
    """The video keeps the last good frame where the model failed; the report says how many frames
    failed and complete: false; the exit is 1 unless --skip-bad-frames."""
    import json
    (tmp_path / "flakymod.py").write_text(FLAKY)
    out = tmp_path / "f.mp4"
    env = {"PYTHONPATH": str(tmp_path)}
    r = run("record", "flakymod:make", "--input", "noise", "--live", "--report", "-o", str(out), "--duration", "1",
            "--size", "160x96", "--quiet", env=env)
    assert r.returncode == 1, r.stderr
    assert "the model failed on 3 of 30 frames (first: frame 21: flaky failure)" in r.stderr
    rep = json.loads((tmp_path / "f.json").read_text())
    assert rep["complete"] is False and rep["model_errors"] == 3 and rep["frames"] == 30
    assert len(decode(out)[1]) == 30
    r = run("record", "flakymod:make", "--input", "noise", "--live", "-o", str(out), "--duration", "1",
            "--size", "160x96", "--quiet", "--force", "--skip-bad-frames", env=env)
    assert r.returncode == 0, r.stderr
