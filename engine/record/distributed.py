"""Recording on Ray: the camera path cut into one contiguous segment per worker, each recorded by a Ray
task in its own process (its own model, scene and offscreen GL context, the frames numbered as in the
whole path), returned as MP4 bytes -- so workers may be other machines -- and joined by ffmpeg's
concat demuxer without re-encoding. Ray retries a segment whose worker dies; the video is written under
a temporary name and renamed only when every segment is in, so a failed run leaves no video that
claims to be complete.

Scaling: each worker pays the setup (load the model, lay out, first frame) once, then frames at the
single-process rate; the join copies bytes (no encoding). N workers on N machines: wall time ~ setup +
frames x frame time / N + join. The --workers / --ray-address checks and the connection are shared with
the dataset passes (engine/compute/cluster.py)."""
from __future__ import annotations

import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from engine.compute.cluster import ClusterError, check_workers, connect, failure_line, segments

__all__ = ["RayRecordError", "check_workers", "segments", "record_on_ray", "SegmentResult"]

RETRIES = 2                # Ray re-runs a segment whose worker died this many times
REPLAYED = 32              # frames before a segment replayed for what carries over (label fades: 4 frames)


class RayRecordError(ClusterError):
    """A distributed recording that cannot start or did not finish."""


@dataclass
class SegmentResult:
    first: int
    frames: int
    data: bytes
    seconds: float
    error: str | None = None


def _record_segment(spec, live_options, cameras, before, first: int, total: int, size, fps: int, samples,
                    hud: bool, writer_options: dict) -> SegmentResult:
    """On a Ray worker: load the scene and record ``cameras`` (frames first.. of total) to MP4 bytes."""
    from engine.pipeline import load
    from engine.record.pipeline import Recorder
    t0 = time.perf_counter()
    loaded = load(spec, live_options, ring=3)
    with tempfile.TemporaryDirectory(prefix="neuroscape-segment-") as tmp:
        path = Path(tmp) / f"segment-{first:08d}.mp4"
        rec = Recorder(loaded.scene, path, cameras, size=size, fps=fps, session=loaded.session, hud=hud,
                       samples=samples, progress=False, writer_options=writer_options, first=first, total=total,
                       before=before)
        res = rec.run()
        data = path.read_bytes() if path.exists() else b""
    if loaded.session is not None:
        loaded.session.close()
    return SegmentResult(first, res.frames, data, time.perf_counter() - t0, res.error)


def _join(parts: list[bytes], out: Path) -> None:
    """The segments, in order, into ``out`` with ffmpeg's concat demuxer (-c copy: no re-encoding)."""
    import imageio_ffmpeg

    from engine.record.video import MP4_FLAGS
    with tempfile.TemporaryDirectory(prefix="neuroscape-join-") as tmp:
        names = []
        for k, data in enumerate(parts):
            p = Path(tmp) / f"{k:05d}.mp4"
            p.write_bytes(data)
            names.append(p)
        listing = Path(tmp) / "segments.txt"
        listing.write_text("".join(f"file '{p}'\n" for p in names))
        partial = out.with_name(out.name + ".partial.mp4")
        cmd = [imageio_ffmpeg.get_ffmpeg_exe(), "-y", "-hide_banner", "-loglevel", "error", "-f", "concat", "-safe", "0",
               "-i", str(listing), "-c", "copy", *MP4_FLAGS, "-f", "mp4", str(partial)]
        done = subprocess.run(cmd, capture_output=True, text=True)
        if done.returncode != 0:
            partial.unlink(missing_ok=True)
            raise RayRecordError(f"joining the segments failed: {done.stderr.strip().splitlines()[-1:] or '?'}")
        partial.replace(out)


def record_on_ray(spec, live_options, cameras: list, out: Path, *, size, fps: int, samples, hud: bool,
                  workers: int, address: str | None = None, writer_options: dict | None = None,
                  say=print) -> list[SegmentResult]:
    """Record ``cameras`` into ``out`` on ``workers`` Ray tasks (a local Ray instance of that many CPUs,
    or the cluster at ``address``); returns the segments' results in order."""
    ray = connect(workers, address)
    task = ray.remote(num_cpus=1, max_retries=RETRIES)(_record_segment)
    ranges = segments(len(cameras), workers)
    say(f"recording {len(cameras)} frames in {len(ranges)} segments on Ray "
        f"({ray.cluster_resources().get('CPU', 0):.0f} CPUs)")
    refs = [task.remote(spec, live_options, cameras[a:b], cameras[max(0, a - REPLAYED):a], a, len(cameras), size,
                        fps, samples, hud, writer_options or {}) for a, b in ranges]
    try:
        results: list[SegmentResult] = ray.get(refs)
    except Exception as e:  # noqa: BLE001 - RayTaskError, WorkerCrashedError ...: one line with the cause
        raise RayRecordError(f"a Ray worker failed while recording ({failure_line(e)}); no video written") from None
    expected = {a: b - a for a, b in ranges}
    bad = [r for r in results if r.error or not r.data or r.frames != expected[r.first]]
    if bad:
        r = bad[0]
        raise RayRecordError(f"the segment from frame {r.first} recorded {r.frames} of {expected[r.first]} frames"
                             f" ({r.error or 'stopped'}); no video written")
    _join([r.data for r in results], out)
    return results
