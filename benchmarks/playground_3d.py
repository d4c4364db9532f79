"""The 3D playground's frame at 1280x720: drawing the raymarched decision field as the playground does
(shells marched at half resolution on software GL, bricks without a shell skipped, the marched picture
reused while camera and field stay) against the baseline in the same run -- full resolution, every
step marched -- for a field that changed and for one that did not; the rest of a training frame
(training steps, evaluating the 128^3 field); and the window's loop for a few seconds (the field
evaluated twice a second, shells coarser while the camera moves), camera still and orbiting.

Goal (issue 14): >= 10 fps at 1280x720 on llvmpipe while training.
Usage: .venv/bin/python benchmarks/playground_3d.py [--dataset helices3d] [--repeat 5]
"""
from __future__ import annotations

import argparse
import sys
import time

import numpy as np

from common import med, save


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--dataset", default="helices3d")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--size", default="1280x720")
    ap.add_argument("--seconds", type=float, default=5.0, help="of the window's loop, camera still and orbiting")
    args = ap.parse_args()
    import torch
    torch.set_num_threads(1)
    import engine.render.passes.field as fp
    from engine.compute.playground import PlaygroundSession
    from engine.render.context import OffscreenContext
    from engine.render.playground_stage import PlaygroundStage
    size = tuple(int(v) for v in args.size.split("x"))
    session = PlaygroundSession(dataset=args.dataset, seed=0)
    every_brick = lambda p, brick=fp.BRICK: np.tile(np.array([0.0, 1.0], np.float32),  # noqa: E731
                                                     (-(-p.shape[0] // brick),) * 3 + (1,))
    real_ranges = fp.brick_ranges
    configs = {"baseline": (1.0, every_brick), "ours": (None, real_ranges)}
    t = {k: [] for k in ("baseline", "ours", "ours_unchanged", "train", "field")}
    with OffscreenContext():
        stage = PlaygroundStage(session, size)
        stage.renderer.set_hud(None)
        for _ in range(20):                       # train a little: shells where a trained model has them
            stage.frame()
        for _ in range(args.repeat + 1):
            stage.frame()
            t["train"].append(stage.seconds["train"])
            t["field"].append(stage.seconds["field"])
            for name, (scale, ranges) in configs.items():
                stage.field.volume_scale = scale
                fp.brick_ranges = ranges
                stage.field.field_version += 1    # a new field: uploaded and marched
                t0 = time.perf_counter()
                stage.draw()
                stage.read_pixels()
                t[name].append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            stage.draw()                          # nothing changed: the marched picture is reused
            stage.read_pixels()
            t["ours_unchanged"].append(time.perf_counter() - t0)
        fp.brick_ranges = real_ranges
        from engine.app.playground import FIELD_EVERY_S
        from engine.record.playground import orbit_camera
        from engine.render.playground_stage import FIELD_CENTER
        stage.field.volume_scale = None
        stage.field_every = FIELD_EVERY_S
        stage.renderer.pass_of(fp.FieldPass).coarse_while_moving = True
        base = stage.camera
        loop = {}
        for moving in (False, True):
            n, t0 = 0, time.perf_counter()
            while time.perf_counter() - t0 < args.seconds:
                stage.frame()
                stage.draw(orbit_camera(base, FIELD_CENTER, n / 200) if moving else None)
                stage.read_pixels()
                n += 1
            loop["orbiting" if moving else "still"] = n / (time.perf_counter() - t0)
        stage.release()
    t = {k: v[1:] for k, v in t.items()}          # the first round warms up
    m = {k: med(v) for k, v in t.items()}
    frame = m["train"] + m["field"] + m["ours"]
    print(f"{args.dataset} at {size[0]}x{size[1]}: drawing a new field {m['ours'] * 1e3:.0f} ms vs "
          f"{m['baseline'] * 1e3:.0f} ms full resolution, every step = {m['ours'] / m['baseline']:.2f}x; unchanged "
          f"{m['ours_unchanged'] * 1e3:.0f} ms; training {m['train'] * 1e3:.0f} ms and the 128^3 field "
          f"{m['field'] * 1e3:.0f} ms a frame -> {1 / frame:.1f} fps evaluating every frame; the window's loop "
          f"(field twice a second): {loop['still']:.1f} fps camera still, {loop['orbiting']:.1f} fps orbiting (goal 10)")
    save("playground_3d", {"dataset": args.dataset, "size": list(size), "seconds": t, "median": m,
                           "ratio": m["ours"] / m["baseline"], "fps_training": 1 / frame, "window_fps": loop})
    return 0 if m["baseline"] > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
