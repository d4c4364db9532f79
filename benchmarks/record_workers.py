"""`record --workers N` on Ray against a single-process recording of the same camera path, same run:
wall time of each, and the parts of the scaling model -- setup (load, lay out, first frame) per
process, time per frame, joining the segments (no re-encoding). N workers on N machines take about
setup + frames x frame time / N + join; on one machine the workers share its cores.

Goal (issue 14): the scaling model measured, with the 2-worker figure from this machine.
Usage: .venv/bin/python benchmarks/record_workers.py [--model resnet18] [--frames 120] [--workers 2]
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from common import save


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--model", default="resnet18")
    ap.add_argument("--frames", type=int, default=120)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--size", default="1280x720")
    args = ap.parse_args()
    import ray

    from engine.pipeline import LiveOptions, load
    from engine.record.distributed import record_on_ray, segments
    from engine.record.pipeline import Recorder
    from engine.scene.path import scene_camera_path
    from engine.scenefile import SceneSpec
    size = tuple(int(v) for v in args.size.split("x"))
    spec, opts = SceneSpec(model=args.model), LiveOptions()
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        loaded = load(spec, opts, ring=3)
        cams = scene_camera_path(loaded.scene, spec).cameras(args.frames)
        load_s = time.perf_counter() - t0
        rec = Recorder(loaded.scene, Path(tmp) / "one.mp4", cams, size=size, fps=30, progress=False)
        res = rec.run()
        single_s = time.perf_counter() - t0
        frame_s = res.wall_s / max(1, res.frames)
        t1 = time.perf_counter()
        ray.init(num_cpus=args.workers, include_dashboard=False, log_to_driver=False, configure_logging=False)
        ray_start_s = time.perf_counter() - t1
        t2 = time.perf_counter()
        parts = record_on_ray(spec, opts, cams, Path(tmp) / "joined.mp4", size=size, fps=30, samples=None,
                              hud=False, workers=args.workers, say=lambda *_: None)
        ray_s = time.perf_counter() - t2
        import subprocess

        import imageio_ffmpeg
        listing = Path(tmp) / "l.txt"
        listing.write_text("".join(f"file '{Path(tmp) / 'joined.mp4'}'\n" for _ in parts))
        t3 = time.perf_counter()              # the join's cost: the same concat of segments of this size
        subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-y", "-v", "error", "-f", "concat", "-safe", "0", "-i",
                        str(listing), "-c", "copy", str(Path(tmp) / "j2.mp4")], check=True)
        join_s = (time.perf_counter() - t3) / max(1, len(parts))
        ray.shutdown()
    seg = segments(args.frames, args.workers)
    setup_s = res.setup_s + load_s
    print(f"{args.model}, {args.frames} frames at {size[0]}x{size[1]}: one process {single_s:.1f} s (setup {setup_s:.1f} s, "
          f"{frame_s * 1e3:.0f} ms a frame); {args.workers} Ray workers {ray_s:.1f} s + {ray_start_s:.1f} s starting Ray "
          f"({len(seg)} segments, their own setup {', '.join(f'{p.seconds:.1f}' for p in parts)} s incl. frames) = "
          f"{ray_s / single_s:.2f}x; joining ~{join_s * 1e3:.0f} ms a segment. Model: setup + frames x "
          f"{frame_s * 1e3:.0f} ms / N + join, N machines")
    save("record_workers", {"model": args.model, "frames": args.frames, "size": list(size), "workers": args.workers,
                            "single_s": single_s, "setup_s": setup_s, "frame_s": frame_s, "ray_s": ray_s,
                            "ray_start_s": ray_start_s, "segment_s": [p.seconds for p in parts],
                            "join_s_per_segment": join_s, "ratio": ray_s / single_s})
    return 0 if single_s > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
