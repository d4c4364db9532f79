"""Recording on Ray (engine/record/distributed.py): segments recorded by workers and joined without
re-encoding give the very frames of a single-process run (ffmpeg framemd5 of lossless videos, live
activations included); bad --workers / --ray-address values and a segment that fails are one line, and
no video is left behind."""
from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from engine.errors import NeuroscapeError

ray = pytest.importorskip("ray")

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    yield ray
    ray.shutdown()


def framemd5(path: Path) -> list[str]:
    import imageio_ffmpeg
    out = subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-i", str(path), "-f", "framemd5", "-"],
                         capture_output=True, text=True, check=True).stdout
    return [line.rsplit(",", 1)[1].strip() for line in out.splitlines() if line and not line.startswith("#")]


def _scene(live: bool):
    from engine.pipeline import LiveOptions, load
    from engine.scene.path import scene_camera_path
    from engine.scenefile import SceneSpec
    spec = SceneSpec(model="mlp")
    opts = LiveOptions(input="digits", live=True) if live else LiveOptions()
    loaded = load(spec, opts, ring=3)
    cams = scene_camera_path(loaded.scene, spec, duration=1.0).cameras(10)
    return spec, opts, loaded, cams


@pytest.mark.parametrize("live", [False, True])
def test_segments_joined_are_the_frames_of_one_process(local_ray, tmp_path, live):
    from engine.record.distributed import record_on_ray
    from engine.record.pipeline import Recorder
    spec, opts, loaded, cams = _scene(live)
    lossless = {"crf": 0}
    one = tmp_path / "one.mp4"
    Recorder(loaded.scene, one, cams, size=(160, 96), fps=10, session=loaded.session, progress=False,
             writer_options=lossless).run()
    if loaded.session is not None:
        loaded.session.close()
    joined = tmp_path / "joined.mp4"
    parts = record_on_ray(spec, opts, cams, joined, size=(160, 96), fps=10, samples=None, hud=False, workers=3,
                          writer_options=lossless, say=lambda *_: None)
    assert [p.first for p in parts] == [0, 3, 7] and sum(p.frames for p in parts) == 10
    a, b = framemd5(one), framemd5(joined)
    assert len(a) == len(b) == 10
    assert a == b
    assert len(set(a)) > 1                                   # the frames differ from each other (it moves)


def test_bad_worker_options_are_one_line():
    from engine.record.distributed import check_workers, segments
    for bad in (0, -2, True):
        with pytest.raises(NeuroscapeError, match="--workers"):
            check_workers(bad, None)
    with pytest.raises(NeuroscapeError, match="HOST:PORT"):
        check_workers(2, "nowhere")
    with pytest.raises(NeuroscapeError, match="cannot reach a Ray cluster at 127.0.0.1:9"):
        check_workers(2, "127.0.0.1:9")
    assert segments(10, 3) == [(0, 3), (3, 7), (7, 10)] and segments(2, 5) == [(0, 1), (1, 2)]


def test_cli_records_on_workers_and_refuses_what_it_cannot(local_ray, tmp_path):
    from engine.cli import main
    out = tmp_path / "w.mp4"
    assert main(["record", "mlp", "--duration", "0.5", "--fps", "10", "--size", "160x96", "--workers", "2",
                 "-o", str(out), "--quiet"]) == 0
    assert len(framemd5(out)) == 5
    assert main(["record", "mlp", "--workers", "0", "-o", str(tmp_path / "x.mp4")]) == 2
    assert main(["record", "mlp", "--workers", "2", "-o", str(tmp_path / "x.gif")]) == 2
    assert main(["record", "mlp", "--ray-address", "127.0.0.1:9", "-o", str(tmp_path / "x.mp4")]) == 2
    assert not (tmp_path / "x.mp4").exists() and not (tmp_path / "x.gif").exists()


def test_a_failing_segment_leaves_no_video(local_ray, tmp_path, monkeypatch):
    """A model that raises on a worker: one line naming the failure, nothing written at -o."""
    from engine.record.distributed import RayRecordError, record_on_ray
    spec, opts, loaded, cams = _scene(False)
    from dataclasses import replace
    broken = replace(spec, model="no_such_module_xyz:build")
    out = tmp_path / "never.mp4"
    with pytest.raises(RayRecordError, match="Ray worker failed"):
        record_on_ray(broken, opts, cams, out, size=(160, 96), fps=10, samples=None, hud=False, workers=2,
                      say=lambda *_: None)
    assert not out.exists() and not list(tmp_path.glob("*.partial.mp4"))
