"""Offscreen frame time of a full scene at 1920x1080 against vispy Markers drawing one point per
neuron of the same scene (same positions, same colours), in the same run (vispy in a subprocess so
the two GL contexts stay apart).

Goal (issue 2): resnet50 at least 200x faster than vispy's ~22 s a frame, with every neuron's value
reaching the picture (far slabs average all their neurons through mipmaps; none are sampled away).
``--flight N`` also flies the scene's default camera path (what `record`/`bench` fly, without the
encoder) in N frames and reports the frame rate, against the same frames drawing every sprite of
near slabs (sprite culling off) in the same run. Goal (issue 14): scenes of >= 300 M neurons fly at
>= 5 fps at 1080p.
Usage: .venv/bin/python benchmarks/frame_time.py [--model resnet50] [--frames 5] [--skip-vispy]
       [--input-shape 1x3x448x448] [--flight 90]
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np

from common import med, save


def build(model: str, input_shape: str | None = None):
    from engine.pipeline import build as build_scene
    from engine.scenefile import resolve_spec
    return build_scene(resolve_spec(model, input_shape=input_shape))


def neuron_points(scene) -> tuple[np.ndarray, np.ndarray]:
    """World position and colormap value of every neuron (padding excluded)."""
    pos, val = [], []
    for s in scene.slabs:
        col, row = s.mosaic.texel(np.arange(s.count))        # values are flat, in tensor order
        c, r = col.astype(np.float32), row.astype(np.float32)
        p = s.origin.astype(np.float32) + np.multiply.outer(c + 0.5, s.u.astype(np.float32)) \
            + np.multiply.outer(r + 0.5, s.v.astype(np.float32))
        pos.append(p.astype(np.float32))
        v = np.asarray(s.values, np.float32).reshape(-1) * s.scale if s.values is not None \
            else np.zeros(s.count, np.float32)
        val.append(((v + 1) / 2 if s.signed else v).astype(np.float32))
    return np.concatenate(pos), np.concatenate(val)


def vispy_child(model: str, size: tuple[int, int], frames: int) -> None:
    os.environ["EGL_PLATFORM"] = "surfaceless"
    from engine.render.preload import preload
    preload()                      # triton must load its LLVM before llvmpipe does
    import vispy
    vispy.use(app="egl")
    from vispy import scene as vscene
    from vispy.color import get_colormap
    _, sc = build(model)
    pos, val = neuron_points(sc)
    colors = get_colormap(sc.colormap).map(np.clip(val, 0, 1)).astype(np.float32)
    canvas = vscene.SceneCanvas(size=size, show=False, bgcolor=sc.background)
    view = canvas.central_widget.add_view()
    cam = sc.camera
    view.camera = vscene.cameras.TurntableCamera(fov=cam.fov)
    # one Markers visual per 4 M points: a single 37 M-point vertex buffer (~60 B a point in vispy's
    # layout) passes 2 GB and crashes Mesa; chunks keep every point and the same per-point work
    t = time.perf_counter()
    chunk = 4_000_000
    for a in range(0, len(pos), chunk):
        m = vscene.visuals.Markers(parent=view.scene)
        m.set_data(pos[a:a + chunk], face_color=colors[a:a + chunk], size=2, edge_width=0)
    setup = time.perf_counter() - t
    view.camera.set_range()
    times = []
    for _ in range(frames):
        t = time.perf_counter()
        canvas.render()
        times.append(time.perf_counter() - t)
    print("JSON" + json.dumps({"points": int(len(pos)), "setup_s": setup, "frame_s": times}))


def fly(r, scene, frames: int) -> dict:
    """Each camera of the default path drawn and read back, with sprite culling (as shipped) and without
    (the baseline): whole flights in turn (on, off, on, off), as a draw at a camera it has just drawn
    costs less (labels and level of detail carry over), so frame-by-frame interleaving would flatter
    the second."""
    from engine.scene.path import default_path
    cams = default_path(scene, frames)
    ours, base = [], []
    for cull in (True, False, True, False):
        r.sprite_culling = cull
        times = ours if cull else base
        for cam in cams:
            t = time.perf_counter()
            r.draw(cam)
            r.read_pixels()
            times.append(time.perf_counter() - t)
    r.sprite_culling = True
    mean = lambda ts: len(ts) / sum(ts)  # noqa: E731 - frames over the time they took
    return {"flight_frames": frames, "flight_frame_s": ours, "baseline_frame_s": base,
            "flight_fps_mean": mean(ours), "flight_fps_median": 1 / med(ours),
            "baseline_fps_mean": mean(base), "flight_speedup": sum(base) / sum(ours), "goal_flight_fps": 5}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--model", default="resnet50")
    ap.add_argument("--size", default="1920x1080")
    ap.add_argument("--frames", type=int, default=5)
    ap.add_argument("--vispy-frames", type=int, default=2)
    ap.add_argument("--skip-vispy", action="store_true")
    ap.add_argument("--input-shape", default=None, help="e.g. 1x3x448x448 for resnet152's 318 M neurons")
    ap.add_argument("--flight", type=int, default=0, help="also fly the default camera path in this many frames")
    ap.add_argument("--vispy-child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    size = tuple(int(v) for v in args.size.split("x"))
    if args.vispy_child:
        vispy_child(args.model, size, args.vispy_frames)
        return
    from engine.render.context import OffscreenContext
    from engine.render.renderer import Renderer

    _, scene = build(args.model, args.input_shape)
    with OffscreenContext() as ctx:
        r = Renderer(scene, size)
        cam = scene.camera
        r.draw(cam)
        lod = dict(r.last_lod)
        r.read_pixels()
        times = []
        for _ in range(args.frames):
            t = time.perf_counter()
            r.draw(cam)
            r.read_pixels()           # includes the finish: the frame is really done
            times.append(time.perf_counter() - t)
        flight = fly(r, scene, args.flight) if args.flight else None
        renderer = getattr(ctx, "renderer", "")
        r.release()
    ours = med(times)
    modes = {m: sum(1 for v in lod.values() if v == m) for m in ("slab", "points", "cull")}
    print(f"neuroscape: {ours*1e3:.1f} ms/frame at {args.size} ({scene.neuron_count:,} neurons, {len(scene.slabs)} "
          f"layers, LOD {modes})")
    out = {"model": args.model, "size": args.size, "neurons": scene.neuron_count, "layers": len(scene.slabs),
           "edges": scene.edge_count, "lod": modes, "gl_renderer": str(renderer), "neuroscape_frame_s": times,
           "neuroscape_median_s": ours, "goal_speedup": 200}
    if flight:
        out.update(flight)
        print(f"flight ({args.flight} frames of the default path): {flight['flight_fps_mean']:.1f} fps mean, "
              f"{flight['flight_fps_median']:.1f} median (goal 5); every sprite of near slabs drawn: "
              f"{flight['baseline_fps_mean']:.1f} fps mean -> {flight['flight_speedup']:.2f}x")
    if not args.skip_vispy:
        p = subprocess.run([sys.executable, __file__, "--vispy-child", "--model", args.model, "--size", args.size,
                            "--vispy-frames", str(args.vispy_frames)], capture_output=True, text=True)
        line = next((l for l in p.stdout.splitlines() if l.startswith("JSON")), None)
        if line is None:
            print(f"vispy run failed (exit {p.returncode}): {p.stderr[-2000:]}")
            out["vispy_error"] = f"exit {p.returncode}: {p.stderr[-500:]}"
        else:
            v = json.loads(line[4:])
            vm = med(v["frame_s"])
            out.update({"vispy_points": v["points"], "vispy_setup_s": v["setup_s"], "vispy_frame_s": v["frame_s"],
                        "vispy_median_s": vm, "speedup_vs_vispy": vm / ours})
            print(f"vispy Markers: {vm:.2f} s/frame for {v['points']:,} points -> neuroscape is {vm / ours:.0f}x faster")
    save(f"frame_time_{args.model}" + (f"_{args.input_shape}" if args.input_shape else ""), out)
    if "vispy_error" in out:
        sys.exit("frame_time: the vispy baseline failed (see above): no speedup figure")


if __name__ == "__main__":
    main()
