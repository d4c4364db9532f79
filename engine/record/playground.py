"""Offscreen recording of a playground: the boundary forming while the classifier trains, with a
slow orbit and a probe point circling through the data (fixed timestep: the video depends on the
configuration and seed only)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from tqdm import tqdm

from engine.record.output import check_output
from engine.scenefile import parse_size
from engine.scene.camera import Camera


def orbit_camera(base: Camera, center, t: float, swing_deg: float = 35.0) -> Camera:
    """``base`` swung around the vertical axis through ``center`` by swing * sin(2 pi t)."""
    c = np.asarray(center, np.float64)
    a = np.radians(swing_deg * np.sin(2 * np.pi * t))
    off = base.position - c
    rot = np.array([[np.cos(a), 0, np.sin(a)], [0, 1, 0], [-np.sin(a), 0, np.cos(a)]])
    cam = Camera(position=c + rot @ off, fov=base.fov)
    return cam.look_at(c + rot @ (np.asarray(base.position + base.forward * np.linalg.norm(off)) - c))


def probe_path(dims: int, t: float) -> np.ndarray:
    """A point circling through the data box (data coordinates)."""
    a = 2 * np.pi * t
    p = [0.6 * np.cos(a), 0.6 * np.sin(a)]
    return np.array(p + [0.5 * np.sin(2 * a)] if dims == 3 else p)


def record_playground(session, path: str | Path, *, size: tuple[int, int] = (1280, 720), fps: int = 30,
                      duration: float = 6.0, samples: int | None = None, progress: bool = True) -> int:
    """Train ``session`` (engine.compute.playground.PlaygroundSession) one frame's steps per video
    frame and write the frames to ``path`` (.mp4 or .gif); returns the frames written."""
    from engine.render.playground_stage import FIELD_CENTER, PlaygroundStage
    from engine.record.video import VideoWriter
    from engine.render.context import OffscreenContext

    n = max(1, int(round(duration * fps)))
    with OffscreenContext():
        stage = PlaygroundStage(session, size, samples=samples)
        from engine.compute.curves import curves_image
        stage.curves = curves_image
        base = stage.camera
        try:
            with VideoWriter(path, size, fps) as w:
                frames = range(n)
                if progress:
                    frames = tqdm(frames, desc=f"recording {Path(path).name}", unit="frame", leave=False)
                for i in frames:
                    t = i / max(n, 2)
                    stage.point = probe_path(session.data.dims, t)
                    stage.frame(train=i > 0)
                    stage.draw(orbit_camera(base, FIELD_CENTER, t))
                    w.write(stage.read_pixels())
                return w.frames
        finally:
            stage.release()


__all__ = ["record_playground", "record_playground_command", "orbit_camera", "probe_path"]


def record_playground_command(args, spec) -> int:
    """`neuroscape record scenes/playground*.toml`: the scene's [playground] table trained live on video."""
    import sys

    from engine.compute.playground import PlaygroundSession, config_from_table

    name = Path(args.target).stem
    out = Path(args.output or f"out/{name}.mp4")
    check_output(out, args.force, (".mp4", ".gif"))
    size = args.size or parse_size(spec.render.get("size", "1280x720"))
    fps = args.fps if args.fps is not None else 30
    duration = args.duration if args.duration is not None else 6.0
    from engine.scene.path import MAX_SECONDS
    if not 0 < duration <= MAX_SECONDS or not 1 <= fps <= 240:
        from engine.errors import NeuroscapeError
        raise NeuroscapeError(f"--duration {duration} / --fps {fps} out of range: use seconds in (0, "
                              f"{MAX_SECONDS:.0f}] and 1..240 fps")
    session = PlaygroundSession(config_from_table(spec.playground, spec.path.parent if spec.path else None))
    print(f"recording playground {session.data.name} ({session.model_name}) ...", file=sys.stderr, flush=True)
    frames = record_playground(session, out, size=size, fps=fps, duration=duration,
                               samples=getattr(args, "samples", None), progress=not getattr(args, "quiet", False))
    print(f"wrote {frames} frames to {out}", file=sys.stderr, flush=True)
    print(out)
    return 0
