"""Feature visualization speed: optimization steps per second of `--featviz` (engine/compute/featviz.py)
against torch-lucent's render_vis on the same model, layer and channel, the same image size (224, the
model's input), Fourier parameterization with decorrelated colours and lucent's standard transforms,
one image at a time. Interleaved runs; lucent only where it installs (it is not a dependency:
pip install torch-lucent decorator kornia ipython).

Goal (issue 13): report steps/s against lucent's.
Usage: .venv/bin/python benchmarks/featviz.py [--model resnet18] [--layer layer3.0.conv1] [--channel 5] [--steps 24]
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time

from common import med, save


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--model", default="resnet18")
    ap.add_argument("--layer", default="layer3.0.conv1")
    ap.add_argument("--channel", type=int, default=5)
    ap.add_argument("--steps", type=int, default=24)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    import os

    import torch
    from engine.compute.featviz import FeatVizSettings, visualize
    from engine.pipeline import load
    from engine.scenefile import SceneSpec
    torch.set_num_threads(2)
    loaded = load(SceneSpec(model=args.model))
    model = loaded.model

    def ours() -> float:
        os.environ["NEUROSCAPE_CACHE"] = tempfile.mkdtemp()          # no cache: every step computed
        t = time.perf_counter()
        visualize(model, loaded.graph, args.layer, [args.channel], (224, 224),
                  FeatVizSettings(steps=args.steps, size=224))
        return time.perf_counter() - t

    try:
        from lucent.optvis import param, render, transform
    except Exception as e:  # noqa: BLE001 - lucent is optional
        lucent = None
        print(f"torch-lucent not available ({type(e).__name__}: {e}); ours only")
    else:
        def lucent() -> float:
            t = time.perf_counter()
            render.render_vis(model, f"{args.layer.replace('.', '_')}:{args.channel}",
                              param_f=lambda: param.image(224, fft=True, decorrelate=True),
                              transforms=transform.standard_transforms, thresholds=(args.steps,),
                              show_image=False, progress=False, fixed_image_size=224)
            return time.perf_counter() - t
    ours()
    if lucent is not None:
        lucent()
    a, b = [], []
    for _ in range(args.repeat):
        a.append(ours())
        if lucent is not None:
            b.append(lucent())
    sa = args.steps / med(a)
    out = {"model": args.model, "layer": args.layer, "channel": args.channel, "steps": args.steps,
           "neuroscape_steps_per_s": sa, "samples_s": {"neuroscape": a, "lucent": b}}
    line = f"{args.model} {args.layer}:{args.channel}, 224 px: --featviz {sa:.1f} steps/s"
    if b:
        sb = args.steps / med(b)
        out.update({"lucent_steps_per_s": sb, "ratio": sa / sb})
        line += f", torch-lucent {sb:.1f} steps/s = {sa / sb:.2f}x"
    print(line)
    save("featviz", out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
