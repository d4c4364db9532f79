"""Recording on Ray: the camera path cut into one contiguous segment per worker, each recorded by a Ray
task in its own process (its own model, scene and offscreen GL context, the frames numbered as in the
whole path), returned as MP4 bytes -- so workers may be other machines -- and joined by ffmpeg's
concat demuxer without re-encoding. Ray retries a segment whose worker dies; the video is written under
a temporary name and renamed only when every segment is in, so a failed run leaves no video that
claims to be complete.

Scaling: each worker pays the setup (load the model, lay out, first frame) once, then frames at the
single-process rate; the join copies bytes (no encoding). N workers on N machines: wall time ~ setup +
frames x frame time / N + join."""
from __future__ import annotations

import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from engine.errors import NeuroscapeError

__all__ = ["RayRecordError", "check_workers", "segments", "record_on_ray", "SegmentResult"]

RETRIES = 2                # Ray re-runs a segment whose worker died this many times
REPLAYED = 32              # frames before a segment replayed for what carries over (label fades: 4 frames)


class RayRecordError(NeuroscapeError):
    """A distributed recording that cannot start or did not finish."""


@dataclass
class SegmentResult:
    first: int
    frames: int
    data: bytes
    seconds: float
    error: str | None = None


def check_workers(workers: int, address: str | None) -> None:
    """One-line errors for --workers / --ray-address before anything is loaded."""
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise RayRecordError(f"--workers {workers}: use 1 or more (1 records in this process)")
    try:
        import ray  # noqa: F401
    except ImportError:
        raise RayRecordError("--workers needs Ray: pip install 'ray>=2.9' (or record without --workers)") from None
    if address and address != "auto":
        host, _, port = address.removeprefix("ray://").rpartition(":")
        if not host or not port.isdigit():
            raise RayRecordError(f"--ray-address {address!r}: use HOST:PORT of a Ray head node, e.g. 10.0.0.5:6379")
        try:
            socket.create_connection((host, int(port)), timeout=5).close()
        except OSError as e:
            raise RayRecordError(f"cannot reach a Ray cluster at {address} ({e.strerror or e}): start one with "
                                 f"`ray start --head` there, or leave out --ray-address") from None


def segments(frames: int, workers: int) -> list[tuple[int, int]]:
    """Contiguous [start, end) ranges of about equal length, at most ``workers`` of them."""
    n = max(1, min(workers, frames))
    cuts = [round(k * frames / n) for k in range(n + 1)]
    return [(a, b) for a, b in zip(cuts, cuts[1:]) if b > a]


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


def _connect(workers: int, address: str | None):
    import ray
    if not ray.is_initialized():
        kwargs = {"address": address} if address else {"num_cpus": workers}
        ray.init(include_dashboard=False, log_to_driver=False, configure_logging=False, **kwargs)
    return ray


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
    ray = _connect(workers, address)
    task = ray.remote(num_cpus=1, max_retries=RETRIES)(_record_segment)
    ranges = segments(len(cameras), workers)
    say(f"recording {len(cameras)} frames in {len(ranges)} segments on Ray "
        f"({ray.cluster_resources().get('CPU', 0):.0f} CPUs)")
    refs = [task.remote(spec, live_options, cameras[a:b], cameras[max(0, a - REPLAYED):a], a, len(cameras), size,
                        fps, samples, hud, writer_options or {}) for a, b in ranges]
    try:
        results: list[SegmentResult] = ray.get(refs)
    except Exception as e:  # noqa: BLE001 - RayTaskError, WorkerCrashedError ...: one line with the cause
        cause = getattr(e, "cause", None) or e
        text = str(cause).strip().splitlines()
        raise RayRecordError(f"a Ray worker failed while recording ({type(cause).__name__}: "
                             f"{text[-1] if text else '?'}); no video written") from None
    expected = {a: b - a for a, b in ranges}
    bad = [r for r in results if r.error or not r.data or r.frames != expected[r.first]]
    if bad:
        r = bad[0]
        raise RayRecordError(f"the segment from frame {r.first} recorded {r.frames} of {expected[r.first]} frames"
                             f" ({r.error or 'stopped'}); no video written")
    _join([r.data for r in results], out)
    return results
