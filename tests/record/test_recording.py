"""Recording (issue 4): videos with the right frames, reproducible runs, nothing lost on SIGTERM,
benchmark reports, camera paths in scene files, GIFs, and clear errors for bad paths and outputs.
Small models and sizes keep this file fast; no timing assertions."""
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest


from engine.cli import main

SMALL = ["--size", "160x120", "--fps", "10", "--quiet"]


def decode(path):
    import imageio_ffmpeg
    gen = imageio_ffmpeg.read_frames(str(path))
    meta = next(gen)
    w, h = meta["size"]
    return meta, [np.frombuffer(f, np.uint8).reshape(h, w, 3) for f in gen]


def error_line(capsys, code, *needles):
    assert code == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith("neuroscape: error: "), err
    for n in needles:
        assert n in err, err
    return err


def test_video_has_the_right_frames_and_two_runs_are_identical(tmp_path):
    outs = [tmp_path / "a.mp4", tmp_path / "b.mp4"]
    for out in outs:
        assert main(["record", "cnn", "--input", "digits", "--live", "-o", str(out), "--duration", "1", *SMALL]) == 0
    (meta, a), (_, b) = decode(outs[0]), decode(outs[1])
    assert tuple(meta["size"]) == (160, 120) and meta["fps"] == 10 and len(a) == len(b) == 10
    assert all(np.array_equal(x, y) for x, y in zip(a, b))          # fixed timestep: same frames
    assert np.abs(a[0].astype(int) - a[-1].astype(int)).mean() > 1    # and they do change


@pytest.mark.slow
def test_sigterm_leaves_a_playable_video_and_an_incomplete_report(tmp_path):
    out = tmp_path / "long.mp4"
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    proc = subprocess.Popen([sys.executable, "-m", "engine.cli", "record", "cnn", "-o", str(out), "--duration", "600",
                             "--report", *SMALL], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        end = time.monotonic() + 120
        while time.monotonic() < end and proc.poll() is None:
            if out.exists() and out.stat().st_size > 20_000:      # past the header: fragments written
                break
            time.sleep(0.1)
        assert proc.poll() is None, proc.communicate()[1]
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 128 + signal.SIGTERM, err
    assert "stopped by SIGTERM" in err and "playable" in err
    report = json.loads(out.with_suffix(".json").read_text())
    assert report["complete"] is False and report["stopped_by"] == "SIGTERM"
    meta, frames = decode(out)
    assert 0 < len(frames) == report["frames"] < report["frames_planned"] == 6000
    assert tuple(meta["size"]) == (160, 120)


def test_bench_report_has_every_field_with_plausible_values(tmp_path):
    out = tmp_path / "bench.mp4"
    assert main(["bench", "mlp", "-o", str(out), "--duration", "1", *SMALL]) == 0
    r = json.loads(out.with_suffix(".json").read_text())
    assert r["complete"] is True and r["frames"] == r["frames_planned"] == 10 and r["size"] == [160, 120]
    for k in ("forward_s", "upload_s", "render_s", "readback_s", "encode_s", "frame_s"):
        assert len(r["per_frame_s"][k]) == 10 and all(v >= 0 for v in r["per_frame_s"][k]), k
    f = r["recording_fps"]
    assert 0 < f["min"] <= f["median"] and 0 < f["p95"] <= f["median"] and f["mean"] > 0
    assert r["neurons"] > 0 and r["edges"] > 0 and r["layers"] == 6
    assert r["device"].startswith(("cpu", "cuda")) and r["gl_renderer"] and r["gl_version"]
    assert {"neuroscape", "python", "torch", "numpy", "ffmpeg"} <= set(r["versions"])
    assert r["encoder"]["codec"] == "libx264" and r["camera_path"] == "default"
    assert len(decode(out)[1]) == 10
    # and its picture: stacked stage bars (the five stage colours) and the frame-interval line
    from PIL import Image

    from engine.record.plot import STAGE_COLOURS
    img = np.asarray(Image.open(out.with_suffix(".png")).convert("RGB")).astype(int)
    assert img.shape[1] == 1000
    def area(colour):
        rgb = np.array([int(colour[i:i + 2], 16) for i in (1, 3, 5)])
        return int((np.abs(img - rgb).max(axis=2) < 10).sum())
    assert all(area(c) > 0 for c in STAGE_COLOURS.values())            # every stage in the legend at least
    assert area(STAGE_COLOURS["render_s"]) + area(STAGE_COLOURS["encode_s"]) > 2000   # and bars, not just it


SCENE = """[model]
name = "cnn"

[[path]]
position = [9, 5, 3]
look_at = [0, 0, -4]

[[path]]
follow = ["features.0", "classifier"]
duration = 1.5

[[path]]
orbit = "classifier.3"
turns = 0.5
duration = 1.0
"""


def test_scene_camera_path_sets_the_duration_and_passes_its_keyframes(tmp_path):
    from engine.pipeline import load
    from engine.scene.path import scene_camera_path
    from engine.scenefile import load_scene_file
    scene_file = tmp_path / "s.toml"
    scene_file.write_text(SCENE)
    spec = load_scene_file(scene_file)
    assert spec.camera_path_lines == [4, 8, 12]
    path = scene_camera_path(load(spec).scene, spec)
    assert path.duration == pytest.approx(2.5)
    first = path.at(0.0)
    assert np.allclose(first.position, [9, 5, 3])
    for k in path.keys:                               # the spline passes through every key
        assert np.allclose(path.at(k.t).position, k.position)
    out = tmp_path / "p.mp4"
    assert main(["record", str(scene_file), "-o", str(out), *SMALL]) == 0
    assert len(decode(out)[1]) == 25                  # 2.5 s at 10 fps, from the path


@pytest.mark.parametrize("body,needles", [
    ('[[path]]\nposition = [1, 2]\n', ["s.toml:5", "3 numbers"]),
    ('[[path]]\nposition = [1, 2, 3]\nspeed = 3\n', ["s.toml:6", "unknown key 'speed'"]),
    ('[[path]]\nfollow = ["a", "b"]\nduration = -1\n', ["s.toml:6", "> 0"]),
    ('[[path]]\nlook_at = [0, 0, 0]\n', ["s.toml:4", "exactly one of"]),
    ('[path]\nposition = [1, 2, 3]\n', ["s.toml:4", "[[path]]"]),
    ('[[path]]\nposition = [1, 2, 3]\n[[path]]\norbit = "nope"\n', ["s.toml:6", "no layer 'nope'"]),
    ('[[path]]\nfollow = ["features.0", "missing"]\n', ["s.toml:4", "'missing'"]),
])
def test_bad_camera_paths_are_one_line_errors_with_file_and_line(tmp_path, capsys, body, needles):
    scene_file = tmp_path / "s.toml"
    scene_file.write_text('[model]\nname = "cnn"\n\n' + body)
    code = main(["record", str(scene_file), "-o", str(tmp_path / "x.mp4"), *SMALL])
    error_line(capsys, code, *needles)
    assert not (tmp_path / "x.mp4").exists()


def test_bad_outputs_are_clear_errors(tmp_path, capsys):
    existing = tmp_path / "there.mp4"
    existing.write_bytes(b"keep me")
    error_line(capsys, main(["record", "mlp", "-o", str(existing), *SMALL]), "exists", "--force")
    assert existing.read_bytes() == b"keep me"
    error_line(capsys, main(["record", "mlp", "-o", str(tmp_path / "x.avi"), *SMALL]), ".mp4 or .gif")
    blocker = tmp_path / "file"
    blocker.write_text("")
    error_line(capsys, main(["record", "mlp", "-o", str(blocker / "x.mp4"), *SMALL]), "cannot create the folder")
    report = tmp_path / "r.json"
    report.write_text("{}")
    error_line(capsys, main(["bench", "mlp", "-o", str(tmp_path / "r.mp4"), *SMALL]), "r.json exists")
    error_line(capsys, main(["record", "mlp", "-o", str(tmp_path / "y.mp4"), "--size", "161x120", "--quiet"]),
               "even")


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_full_disk_is_a_clear_error_and_the_report_says_so(tmp_path, capsys):
    out = tmp_path / "full.mp4"
    out.symlink_to("/dev/full")                      # every write fails with ENOSPC
    code = main(["record", "mlp", "-o", str(out), "--force", "--report", "--duration", "1", *SMALL])
    error_line(capsys, code, "No space left on device", "free some disk space")
    report = json.loads(out.with_suffix(".json").read_text())
    assert report["complete"] is False and "No space" in report["error"]


def test_pulse_gif_is_sized_for_sharing(tmp_path):
    from PIL import Image
    out = tmp_path / "pulse.gif"
    assert main(["record", "cnn", "--input", "digits", "--pulse", "-o", str(out), "--duration", "1", "--quiet"]) == 0
    im = Image.open(out)
    assert im.size == (480, 270) and im.n_frames == 15 and im.info.get("loop") == 0
    assert im.info["duration"] == 70                 # 15 fps in GIF centiseconds
    first = np.asarray(im.convert("RGB"), dtype=int)
    im.seek(14)
    assert np.abs(first - np.asarray(im.convert("RGB"), dtype=int)).mean() > 1


def test_hud_draws_over_the_video(tmp_path):
    plain, hud = tmp_path / "plain.mp4", tmp_path / "hud.mp4"
    assert main(["record", "mlp", "-o", str(plain), "--duration", "0.2", "--size", "320x240", "--quiet"]) == 0
    assert main(["record", "mlp", "-o", str(hud), "--duration", "0.2", "--size", "320x240", "--hud", "--quiet"]) == 0
    (_, a), (_, b) = decode(plain), decode(hud)
    corner = (slice(0, 60), slice(0, 160))
    assert np.abs(a[0][corner].astype(int) - b[0][corner].astype(int)).mean() > 2


def test_focus_layer_is_the_one_in_the_middle_of_the_view():
    from engine.pipeline import load
    from engine.record.pipeline import focus_layer
    from engine.scene.camera import Camera
    from engine.scenefile import resolve_spec
    scene = load(resolve_spec("cnn")).scene
    s = scene.slabs[5]
    cam = Camera(position=s.center + np.array([3.0, 1.0, 4.0])).look_at(s.center)
    assert focus_layer(scene, cam) == s.name


def test_video_and_gif_frames_are_upright(tmp_path):
    from PIL import Image

    from engine.pipeline import load
    from engine.scene.path import default_camera_path
    from engine.render.renderer import render_image
    from engine.scenefile import resolve_spec
    for name in ("o.mp4", "o.gif"):
        assert main(["record", "cnn", "-o", str(tmp_path / name), "--duration", "0.2", "--size", "320x240",
                     "--fps", "10", "--quiet"]) == 0
    scene = load(resolve_spec("cnn")).scene
    ref = render_image(scene, (320, 240), camera=default_camera_path(scene, 0.2).at(0)).astype(int)
    mp4 = decode(tmp_path / "o.mp4")[1][0].astype(int)
    gif = np.asarray(Image.open(tmp_path / "o.gif").convert("RGB"), dtype=int)
    for got in (mp4, gif):     # readback is bottom row first; the writers flip it
        assert np.abs(got - ref).mean() < 0.5 * np.abs(got[::-1] - ref).mean()


def test_record_playground_scene(tmp_path):
    import imageio.v3 as iio
    out = tmp_path / "x.mp4"
    assert main(["record", "scenes/playground_circles.toml", "-o", str(out), "--duration", "1", "--fps", "5",
                 "--size", "320x240", "--quiet"]) == 0
    frames = iio.imread(out)
    assert frames.shape == (5, 240, 320, 3)
    diffs = [np.abs(frames[i].astype(int) - frames[i - 1].astype(int)).mean() for i in range(1, len(frames))]
    assert min(diffs) > 0.5, diffs                 # the boundary forms (and the camera swings) every frame


def test_a_held_input_is_run_once_and_the_video_is_the_same(tmp_path):
    """Live digits are held 30 frames each: the recording runs the model once an item (not every frame)
    and its frames are the very frames of running it every frame (lossless, ffmpeg framemd5)."""
    import imageio_ffmpeg

    from engine.pipeline import LiveOptions, load
    from engine.record.pipeline import Recorder
    from engine.scene.path import scene_camera_path
    from engine.scenefile import SceneSpec

    def frames_md5(path):
        out = subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-i", str(path), "-f", "framemd5", "-"],
                             capture_output=True, text=True, check=True).stdout
        return [line.rsplit(",", 1)[1].strip() for line in out.splitlines() if line and not line.startswith("#")]

    spec = SceneSpec(model="mlp")
    md5, runs = {}, {}
    for mode in ("held", "every"):
        loaded = load(spec, LiveOptions(input="digits", live=True), ring=3)
        sess = loaded.session
        hold = sess.source.hold
        if mode == "every":
            sess.unchanged = lambda t: False
        calls: list[int] = []
        compute = sess.compute
        sess.compute = lambda t: calls.append(t) or compute(t)
        cams = scene_camera_path(loaded.scene, spec, duration=1.0).cameras(hold + 10)
        out = tmp_path / f"{mode}.mp4"
        Recorder(loaded.scene, out, cams, size=(160, 96), fps=30, session=sess, progress=False,
                 writer_options={"crf": 0}).run()
        sess.close()
        md5[mode], runs[mode] = frames_md5(out), calls
    assert runs["held"] == [hold]                       # frame 0 ran at load; the next item at its first frame
    assert len(runs["every"]) == hold + 9
    assert len(md5["held"]) == hold + 10 and md5["held"] == md5["every"]
    assert len(set(md5["held"])) > 1
