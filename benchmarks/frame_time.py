"""Offscreen frame time of a full scene at 1920x1080 against vispy Markers drawing one point per
neuron of the same scene (same positions, same colours), in the same run (vispy in a subprocess so
the two GL contexts stay apart).

Goal (issue 2): resnet50 at least 200x faster than vispy's ~22 s a frame, with every neuron's value
reaching the picture (far slabs average all their neurons through mipmaps; none are sampled away).
Usage: .venv/bin/python benchmarks/frame_time.py [--model resnet50] [--frames 5] [--skip-vispy]
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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--model", default="resnet50")
    ap.add_argument("--size", default="1920x1080")
    ap.add_argument("--frames", type=int, default=5)
    ap.add_argument("--vispy-frames", type=int, default=2)
    ap.add_argument("--skip-vispy", action="store_true")
    ap.add_argument("--input-shape", default=None, help="e.g. 1x3x448x448 for resnet152's 318 M neurons")
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
        renderer = getattr(ctx, "renderer", "")
        r.release()
    ours = med(times)
    modes = {m: sum(1 for v in lod.values() if v == m) for m in ("slab", "points", "cull")}
    print(f"neuroscape: {ours*1e3:.1f} ms/frame at {args.size} ({scene.neuron_count:,} neurons, {len(scene.slabs)} "
          f"layers, LOD {modes})")
    out = {"model": args.model, "size": args.size, "neurons": scene.neuron_count, "layers": len(scene.slabs),
           "edges": scene.edge_count, "lod": modes, "gl_renderer": str(renderer), "neuroscape_frame_s": times,
           "neuroscape_median_s": ours, "goal_speedup": 200}
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
