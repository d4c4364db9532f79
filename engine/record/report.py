"""The benchmark report of a recording: one JSON file beside the video (same stem, .json).

Per-frame times (seconds) of each stage, frame-rate statistics, what was drawn (layers, neurons,
edges), where (device, GL renderer) and with what (versions). Written atomically (temp file +
rename), so a kill never leaves half a report; an interrupted run says ``"complete": false``.
"""
from __future__ import annotations

import json
import os
import platform
import time
from pathlib import Path

import numpy as np

from engine.errors import NeuroscapeError
from engine.record.pipeline import STAGES, RecordResult


def report_path(video: str | Path) -> Path:
    return Path(video).with_suffix(".json")


def fps_stats(frame_s: list[float], wall_s: float, frames: int) -> dict:
    """Frame-rate figures from per-frame intervals: min (slowest frame), median, p95 (95% of frames
    were at least this fast) and mean (frames / wall time)."""
    out = {"mean": frames / wall_s if wall_s > 0 else 0.0, "min": 0.0, "median": 0.0, "p95": 0.0}
    dt = np.asarray(frame_s, np.float64)
    dt = dt[dt > 0]
    if dt.size:
        out.update(min=float(1 / dt.max()), median=float(1 / np.median(dt)), p95=float(1 / np.percentile(dt, 95)))
    return out


def versions() -> dict:
    import engine
    from engine.record.video import ffmpeg_version
    v = {"neuroscape": engine.__version__, "python": platform.python_version(), "numpy": np.__version__,
         "ffmpeg": ffmpeg_version()}
    for mod in ("torch", "scipy", "OpenGL"):
        try:
            v[mod] = __import__(mod).__version__
        except Exception:  # noqa: BLE001
            pass
    return v


def model_device(model=None, session=None) -> str:
    probe = getattr(session, "probe", None)
    if probe is not None and getattr(probe, "device", None) is not None:
        return str(probe.device)
    try:
        return str(next(model.parameters()).device)
    except Exception:  # noqa: BLE001 - no parameters or no model
        return "cpu"


def build_report(res: RecordResult, scene, *, model_name: str = "", scene_file: str | None = None,
                 camera_path: str = "default", duration_s: float = 0.0, device: str = "cpu",
                 live: dict | None = None, hud: bool = False) -> dict:
    per_frame = {k: [round(float(x), 6) for x in res.times.get(k, [])] for k in STAGES}
    med = {k: (float(np.median(v)) * 1e3 if v else 0.0) for k, v in per_frame.items()}
    return {
        "complete": bool(res.complete),
        "stopped_by": res.stopped_by,
        "error": res.error,
        "model_errors": res.model_errors,          # live frames the model failed on
        "first_model_error": res.first_model_error,
        "video": str(res.path) if res.path is not None else None,
        "frames": int(res.frames),
        "frames_planned": int(res.planned),
        "size": list(res.size),
        "fps": res.fps,
        "duration_s": duration_s,
        "wall_s": round(res.wall_s, 4),
        "setup_s": round(res.setup_s, 4),
        "recording_fps": fps_stats(res.times.get("frame_s", []), res.wall_s, res.frames),
        "median_ms": med,
        "per_frame_s": per_frame,
        "model": model_name,
        "title": scene.title,
        "scene_file": scene_file,
        "camera_path": camera_path,
        "layers": len(scene.slabs),
        "neurons": int(scene.neuron_count),
        "edges": int(scene.edge_count),
        "live": live or {},
        "hud": hud,
        "device": device,
        "gl_renderer": res.gl.get("renderer", ""),
        "gl_version": res.gl.get("version", ""),
        "gl_vendor": res.gl.get("vendor", ""),
        "encoder": res.encoder,
        "versions": versions(),
        "machine": {"platform": platform.platform(), "machine": platform.machine(), "cpu_count": os.cpu_count()},
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }


def write_report(path: str | Path, report: dict) -> Path:
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    try:
        tmp.write_text(json.dumps(report, indent=2), encoding="utf-8")
        tmp.replace(path)
    except OSError as e:
        tmp.unlink(missing_ok=True)
        raise NeuroscapeError(f"cannot write the report {path} ({e.strerror}): free some disk space or "
                              "choose another -o") from None
    return path
