"""The live viewer's loop, offscreen: a ProbeWorker runs the model beside the render loop, which takes the
newest frame, shows it and draws (far pyramids within the viewer's budget), for an input of images each
held for several frames (a folder, digits). Frames of a held item keep the values shown -- no forward
pass, no upload, no far pyramid rebuilt -- against the baseline in the same run that runs the model for
every frame, as the viewer did. Rounds alternate; frames per second and forward passes of each.

Usage: .venv/bin/python benchmarks/live_viewer.py [--model resnet50] [--seconds 8] [--rounds 2]
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from common import med, save


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--model", default="resnet50")
    ap.add_argument("--size", default="1280x720")
    ap.add_argument("--seconds", type=float, default=8.0, help="of each mode in each round")
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args()
    import engine.render.preload  # noqa: F401 - before any GL context
    from PIL import Image

    from engine.app.viewer import FAR_BUDGET_S
    from engine.compute.live import ProbeWorker
    from engine.pipeline import LiveOptions, load
    from engine.render.context import OffscreenContext
    from engine.render.renderer import Renderer
    from engine.scenefile import resolve_spec
    size = tuple(int(v) for v in args.size.split("x"))
    folder = tempfile.TemporaryDirectory()          # read as the frames ask for the pictures: kept to the end
    for i in range(3):                 # three pictures, each shown for the source's hold frames
        rng = np.random.default_rng(i)
        Image.fromarray((rng.random((224, 224, 3)) * 255).astype(np.uint8)).save(Path(folder.name) / f"{i}.png")
    loaded = load(resolve_spec(args.model), LiveOptions(input=folder.name, live=True))
    sess = loaded.session
    held = sess.unchanged
    runs: dict[str, list[dict]] = {"baseline": [], "ours": []}
    errors = 0
    with OffscreenContext() as ctx:
        r = Renderer(loaded.scene, size)
        r.far_budget = FAR_BUDGET_S
        for k in range(args.rounds):
            for mode in (("baseline", "ours") if k % 2 == 0 else ("ours", "baseline")):
                sess.unchanged = held if mode == "ours" else (lambda t: False)
                calls = [0]
                compute = sess.compute

                def counted(t, compute=compute):
                    calls[0] += 1
                    return compute(t)
                sess.compute = counted
                w = ProbeWorker(sess, start=1)
                n, t0 = 0, time.perf_counter()
                while time.perf_counter() - t0 < args.seconds:
                    got = w.take()
                    if got is not None and got[1] is not None:
                        errors += got[1].error is not None
                        sess.apply(got[1], got[0], renderer=r)
                    r.draw()
                    r.finish()
                    n += 1
                dt = time.perf_counter() - t0
                w.stop()
                sess.compute = compute
                runs[mode].append({"frames": n, "seconds": dt, "fps": n / dt, "forward_passes": calls[0]})
        renderer = ctx.renderer
        r.release()
    hold = sess.source.hold
    sess.close()
    folder.cleanup()
    fps = {m: med([x["fps"] for x in v]) for m, v in runs.items()}
    passes = {m: sum(x["forward_passes"] for x in v) / sum(x["frames"] for x in v) for m, v in runs.items()}
    print(f"{args.model} live at {size[0]}x{size[1]}, 3 pictures held {hold} frames each: {fps['ours']:.1f} fps "
          f"({passes['ours']:.3f} forward passes a frame) vs {fps['baseline']:.1f} fps running the model every frame "
          f"({passes['baseline']:.2f}) -> {fps['ours'] / fps['baseline']:.2f}x")
    save(f"live_viewer_{args.model}", {"model": args.model, "size": list(size), "gl_renderer": renderer, "hold": hold,
                                       "runs": runs, "fps": fps, "forward_passes_per_frame": passes,
                                       "speedup": fps["ours"] / fps["baseline"]})
    if errors:
        print(f"the model failed on {errors} frames", file=sys.stderr)
    return 0 if not errors and all(x["frames"] > 0 for v in runs.values() for x in v) else 1


if __name__ == "__main__":
    sys.exit(main())
