"""Per-frame cost of live mode (forward + capture + reduce + upload of every displayed layer's
activations) divided by one bare forward pass, same run, interleaved. Also the texture upload rate
against a plain memcpy of the same bytes.

Goal (issue 3): at most 1.10x the bare forward pass.
Usage: .venv/bin/python benchmarks/live_frame.py [--model resnet50] [--repeat 5]
"""
from __future__ import annotations

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
os.environ.setdefault("PYOPENGL_PLATFORM", "egl")

import numpy as np  # noqa: E402

from common import med, save  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--model", default="resnet50")
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    import torch

    from engine.pipeline import LiveOptions, load
    from engine.render.context import OffscreenContext
    from engine.render.renderer import Renderer
    from engine.scene.file import resolve_spec

    loaded = load(resolve_spec(args.model), LiveOptions(input="noise", live=True), ring=3)
    sess, model, ex = loaded.session, loaded.model, loaded.example
    with OffscreenContext() as ctx:
        r = Renderer(loaded.scene, (640, 360))
        bare, live, upload, parts = [], [], [], []
        nbytes = 0
        for i in range(args.repeat + 1):
            t = time.perf_counter()
            with torch.no_grad():
                model(*ex.args, **ex.kwargs)
            b = time.perf_counter() - t
            t = time.perf_counter()
            frame = sess.compute(i)
            t_up = time.perf_counter()
            sess.apply(frame, i, renderer=r)
            r.finish()
            end = time.perf_counter()
            if i == 0:
                continue                       # warm-up
            bare.append(b)
            live.append(end - t)
            upload.append(end - t_up)
            parts.append(frame.seconds)
            nbytes = sum(lf.mosaic.nbytes for lf in frame.layers.values())
        src = np.ones(nbytes // 4, np.float32)
        dst = np.empty_like(src)
        memcpy = []
        for _ in range(args.repeat):
            t = time.perf_counter()
            np.copyto(dst, src)
            memcpy.append(time.perf_counter() - t)
        gl = ctx.renderer
        r.release()
    ratio = med(live) / med(bare)
    up_gbs = nbytes / med(upload) / 1e9
    cp_gbs = nbytes / med(memcpy) / 1e9
    print(f"{args.model}: bare forward {med(bare)*1e3:.0f} ms, live frame {med(live)*1e3:.0f} ms "
          f"-> {ratio:.2f}x (goal <= 1.10); upload {nbytes/1e6:.0f} MB at {up_gbs:.2f} GB/s vs memcpy {cp_gbs:.2f} GB/s")
    keys = parts[0].keys() if parts else []
    save(f"live_frame_{args.model}", {
        "model": args.model, "device": str(sess.probe.device), "dtype": str(sess.probe.dtype), "gl_renderer": gl,
        "bare_forward_s": bare, "live_frame_s": live, "upload_s": upload, "ratio": ratio, "goal_ratio": 1.10,
        "bytes_per_frame": nbytes, "upload_gbs": up_gbs, "memcpy_gbs": cp_gbs,
        "parts_median_s": {k: med([p[k] for p in parts]) for k in keys},
        "neurons": loaded.scene.neuron_count})


if __name__ == "__main__":
    main()
