"""The 3D playground's frame at 1280x720: drawing the raymarched decision field as the playground does
(shells marched at half resolution on software GL, bricks without a shell skipped, the marched picture
reused while camera and field stay) against the baseline in the same run -- full resolution, every
step marched -- for a field that changed and for one that did not; and the rest of a training frame
(training steps, evaluating the 128^3 field) for the whole frame rate.

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
        stage.release()
    t = {k: v[1:] for k, v in t.items()}          # the first round warms up
    m = {k: med(v) for k, v in t.items()}
    frame = m["train"] + m["field"] + m["ours"]
    print(f"{args.dataset} at {size[0]}x{size[1]}: drawing a new field {m['ours'] * 1e3:.0f} ms vs "
          f"{m['baseline'] * 1e3:.0f} ms full resolution, every step = {m['ours'] / m['baseline']:.2f}x; unchanged "
          f"{m['ours_unchanged'] * 1e3:.0f} ms; training {m['train'] * 1e3:.0f} ms and the 128^3 field "
          f"{m['field'] * 1e3:.0f} ms a frame -> {1 / frame:.1f} fps while training (goal 10)")
    save("playground_3d", {"dataset": args.dataset, "size": list(size), "seconds": t, "median": m,
                           "ratio": m["ours"] / m["baseline"], "fps_training": 1 / frame})
    return 0 if m["baseline"] > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
