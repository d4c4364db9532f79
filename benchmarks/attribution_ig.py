"""Integrated Gradients (50 steps) as `--explain ig` computes it -- Captum's IG on the input, plus every
module layer's activation x gradient and the top-5 -- against Captum's IntegratedGradients alone on the
same model, input and target. Interleaved runs.

Goal (issue 13): <= 1.1x Captum alone.
Usage: .venv/bin/python benchmarks/attribution_ig.py [--model resnet18] [--repeat 3]
"""
from __future__ import annotations

import argparse
import sys

from common import interleaved, med, save


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--model", default="resnet18")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    import torch
    from captum.attr import IntegratedGradients

    from engine.compute.attribution import IG_STEPS, explain
    from engine.pipeline import LiveOptions, load
    from engine.scenefile import SceneSpec

    loaded = load(SceneSpec(model=args.model), LiveOptions(input="photo"))
    inputs = loaded.session.source.frame(0)
    x = inputs.args[0]
    model = loaded.model
    with torch.no_grad():
        target = int(model(x)[0].argmax())
    ig = IntegratedGradients(model)
    ours = {}

    def neuroscape():
        ours["e"] = explain(model, loaded.graph, inputs, "ig", target)

    times = interleaved({
        "captum": lambda: ig.attribute(x, target=target, n_steps=IG_STEPS, internal_batch_size=10),
        "neuroscape": neuroscape,
    }, repeat=args.repeat, warmup=1)
    loaded.session.close()
    c, n = med(times["captum"]), med(times["neuroscape"])
    layers = len(ours["e"].layers)
    print(f"{args.model}: Captum IntegratedGradients ({IG_STEPS} steps) {c:.2f} s; --explain ig (the same, plus "
          f"activation x gradient on {layers} layers and the top-5) {n:.2f} s = {n / c:.2f}x (goal 1.1x)")
    save("attribution_ig", {"model": args.model, "steps": IG_STEPS, "layers": layers, "captum_s": c,
                            "neuroscape_s": n, "ratio": n / c, "goal_ratio": 1.1, "samples": times})
    return 0 if c > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
