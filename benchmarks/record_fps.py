"""Recording throughput against its own stages, same run: recording fps (forward, draw, readback and
encode pipelined) divided by min(render-only fps, encode-only fps).

- render-only: the same Recorder and camera path with no encoder (draw + asynchronous readback);
- encode-only: the recorded frames fed from memory to the same encoder (libx264 ultrafast, fragmented MP4);
- recording: the full pipeline into an MP4.
The three are measured in turns (--repeat rounds), each figure the median over rounds.

Goal (issue 4): ratio >= 0.85 at 1920x1080.
Usage: .venv/bin/python benchmarks/record_fps.py [--scene scenes/resnet50.toml] [--frames 60] [--size 1920x1080]
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from common import med, save

ROOT = Path(__file__).resolve().parent.parent


def decode(path: Path) -> list[np.ndarray]:
    import imageio_ffmpeg
    gen = imageio_ffmpeg.read_frames(str(path))
    meta = next(gen)
    w, h = meta["size"]
    return [np.frombuffer(f, np.uint8).reshape(h, w, 3)[::-1].copy() for f in gen]   # GL order: bottom row first


def encode_only(frames: list[np.ndarray], out: Path, size, fps: int) -> float:
    from engine.record.video import VideoWriter
    t = time.perf_counter()
    with VideoWriter(out, size, fps, bottom_up=True) as w:
        for f in frames:
            w.write(f)
    return len(frames) / (time.perf_counter() - t)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scene", default=str(ROOT / "scenes" / "resnet50.toml"))
    ap.add_argument("--frames", type=int, default=60)
    ap.add_argument("--fps", type=int, default=30)
    ap.add_argument("--size", default="1920x1080")
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--live", action="store_true", help="a forward pass per frame (input: noise)")
    args = ap.parse_args()

    from engine.scenefile import parse_size
    from engine.pipeline import LiveOptions, load
    from engine.scene.path import scene_camera_path
    from engine.record.pipeline import Recorder
    from engine.scenefile import resolve_spec

    size = parse_size(args.size)
    spec = resolve_spec(args.scene)
    loaded = load(spec, LiveOptions(input="noise", live=True) if args.live else None, ring=3)
    cams = scene_camera_path(loaded.scene, spec, duration=args.frames / args.fps).cameras(args.frames)
    rec_fps, ren_fps, enc_fps, stages = [], [], [], []
    gl = {}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        frames = None
        for rnd in range(args.repeat):
            out = tmp / f"rec{rnd}.mp4"
            r = Recorder(loaded.scene, out, cams, size=size, fps=args.fps, session=loaded.session, progress=False)
            res = r.run()
            rec_fps.append(res.frames / res.wall_s)
            stages.append({k: med(v) * 1e3 for k, v in res.times.items() if v})
            gl = res.gl
            r = Recorder(loaded.scene, None, cams, size=size, fps=args.fps, session=loaded.session, progress=False)
            res = r.run()
            ren_fps.append(res.frames / res.wall_s)
            if frames is None:
                frames = decode(out)
            enc_fps.append(encode_only(frames, tmp / f"enc{rnd}.mp4", size, args.fps))
            print(f"round {rnd + 1}: recording {rec_fps[-1]:.2f} fps, render-only {ren_fps[-1]:.2f} fps, "
                  f"encode-only {enc_fps[-1]:.2f} fps", flush=True)
    rec, ren, enc = med(rec_fps), med(ren_fps), med(enc_fps)
    ratios = [a / min(b, c) for a, b, c in zip(rec_fps, ren_fps, enc_fps)]   # each round's own conditions
    ratio = med(ratios)
    # when render and encode share the same CPU cores (software GL), the best possible is 1/(1/render + 1/encode)
    shared = [1 / (1 / b + 1 / c) / min(b, c) for b, c in zip(ren_fps, enc_fps)]
    print(f"{Path(args.scene).stem} {size[0]}x{size[1]}: recording {rec:.2f} fps / min(render {ren:.2f}, "
          f"encode {enc:.2f}) = {ratio:.2f} (goal >= 0.85; per round {', '.join(f'{r:.2f}' for r in ratios)}; "
          f"bound if both stages saturate the same cores: {med(shared):.2f})")
    save(f"record_fps_{Path(args.scene).stem}", {
        "scene": args.scene, "size": list(size), "frames": args.frames, "fps": args.fps, "live": args.live,
        "recording_fps": rec_fps, "render_only_fps": ren_fps, "encode_only_fps": enc_fps, "ratio": ratio, "ratio_per_round": ratios,
        "shared_cpu_bound_ratio": med(shared),
        "goal_ratio": 0.85, "stage_median_ms": stages, "neurons": loaded.scene.neuron_count,
        "edges": loaded.scene.edge_count, "gl_renderer": gl.get("renderer", "")})


if __name__ == "__main__":
    main()
